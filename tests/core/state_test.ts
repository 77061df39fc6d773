import { assertAlmostEquals, assertEquals } from "@std/assert";
import {
  beginBatch,
  beginEpoch,
  EMPTY_SMOOTHER,
  endBatch,
  initialState,
  recordLoss,
  smoothen,
} from "../../core/state.ts";
import { logToArray } from "../../core/log.ts";
import type { Tensor } from "../../core/types.ts";

const loss = (): never => {
  throw new Error("unused");
};
const H = { lr: 0.1, mom: 0.9, sqrMom: 0.99, eps: 1e-7, wd: 0 };

Deno.test("smoothen() matches hand-computed debiased averages (beta 0.98)", () => {
  // movAvg1 = 0.02*4 = 0.08, value1 = 0.08/(1-0.98) = 4
  const a = smoothen(EMPTY_SMOOTHER, 4);
  assertAlmostEquals(a.movAvg, 0.08, 1e-15);
  assertAlmostEquals(a.value, 4, 1e-12);
  // movAvg2 = 0.98*0.08 + 0.02*2 = 0.1184, value2 = 0.1184/(1-0.9604) = 2.98989898...
  const b = smoothen(a, 2);
  assertAlmostEquals(b.movAvg, 0.1184, 1e-15);
  assertAlmostEquals(b.value, 0.1184 / 0.0396, 1e-12);
  // beta 0.5: movAvg3 = 0.5*(0.5*(0.5*1)+0.5*2)+0.5*3 = 2.125; /(1-0.125) = 2.428571...
  let c = EMPTY_SMOOTHER;
  for (const v of [1, 2, 3]) c = smoothen(c, v, 0.5);
  assertAlmostEquals(c.value, 2.125 / 0.875, 1e-12);
  assertEquals(c.n, 3);
});

Deno.test("smoothen() keeps a non-finite value visible", () => {
  const s = smoothen(smoothen(EMPTY_SMOOTHER, 1), NaN);
  assertEquals(Number.isNaN(s.value), true);
});

Deno.test("recordLoss() updates smoothLoss and appends to smoothLosses without touching the input", () => {
  const s0 = Object.freeze(initialState({ nEpochs: 1, hypers: [H], loss }));
  const s1 = recordLoss(s0, 3);
  const s2 = recordLoss(s1, 1);
  // by hand (beta 0.98): movAvg 0.02 * 3 = 0.06 -> 0.06 / 0.02 = 3; then
  // 0.98 * 0.06 + 0.02 * 1 = 0.0788 -> 0.0788 / (1 - 0.9604) = 1.98989898...
  assertAlmostEquals(s1.smoothLoss, 3, 1e-12);
  assertAlmostEquals(s2.smoothLoss, 1.98989898989899, 1e-12);
  assertAlmostEquals(s2.smoother.movAvg, 0.0788, 1e-15);
  assertEquals(s2.smoother.n, 2);
  const smoothed = logToArray(s2.smoothLosses);
  assertEquals(smoothed.length, 2);
  assertAlmostEquals(smoothed[0]!, 3, 1e-12);
  assertAlmostEquals(smoothed[1]!, 1.98989898989899, 1e-12);
  // another beta: 0.5 -> 0.5 * 3 = 1.5 / 0.5 = 3; 0.75 + 0.5 = 1.25 / 0.75 = 1.6666...
  assertAlmostEquals(recordLoss(recordLoss(s0, 3, 0.5), 1, 0.5).smoothLoss, 5 / 3, 1e-12);
  assertEquals(s1.smoothLosses.length, 1);
  assertEquals(s0.smoothLosses.length, 0);
  assertEquals(Number.isNaN(s0.smoothLoss), true);
});

Deno.test("batch transitions clear per-batch flags and advance counters only for training", () => {
  const t = {} as Tensor;
  let s = beginEpoch(initialState({ nEpochs: 2, hypers: [H], loss }), 1);
  s = { ...s, skipStep: true, skipZero: true, skipBackward: true };
  s = beginBatch(s, t, t, true);
  assertEquals([s.skipStep, s.skipZero, s.skipBackward, s.lastInput === t], [
    false,
    false,
    false,
    true,
  ]);
  s = endBatch(s);
  assertEquals([s.iteration, s.numBatch, s.lastInput], [1, 1, undefined]);
  s = endBatch(beginBatch(s, t, t, false));
  assertEquals([s.iteration, s.numBatch, s.epoch], [1, 1, 1]);
});
