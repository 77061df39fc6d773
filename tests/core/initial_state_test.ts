// The state's pure transitions, field by field: a fresh state, the start and end of an
// epoch's batches and of a batch. Every field is listed, so a changed default shows.
import { assert, assertEquals, assertStrictEquals } from "@std/assert";
import {
  beginBatch,
  beginEpoch,
  EMPTY_SMOOTHER,
  endBatch,
  endEpochBatches,
  freezeHypers,
  type Hypers,
  initialState,
  type TrainState,
} from "../../core/state.ts";
import { logToArray } from "../../core/log.ts";
import type { Tensor } from "../../core/types.ts";

const H = [{ lr: 0.1, mom: 0.9, sqrMom: 0.99, eps: 1e-7, wd: 0 }];
const loss = (): never => {
  throw new Error("unused");
};

/** The state without its log and function fields, for deep comparison. */
function plain(s: TrainState): Record<string, unknown> {
  const { smoothLosses, loss: _loss, smoothLoss, ...rest } = s;
  return { ...rest, smoothLosses: logToArray(smoothLosses), smoothLoss: String(smoothLoss) };
}

Deno.test("initialState() starts every field where a fit starts", () => {
  const s = initialState({ nEpochs: 3, hypers: H, loss });
  assertEquals(plain(s), {
    nEpochs: 3,
    epoch: 0,
    iteration: 0,
    numBatch: 0,
    nBatches: undefined,
    train: true,
    lastInput: undefined,
    lastCaptures: {},
    lastTarget: undefined,
    lastOutput: undefined,
    lastLoss: undefined,
    smoothLoss: "NaN",
    smoother: EMPTY_SMOOTHER,
    smoothLosses: [],
    lastMetrics: [],
    metricNames: ["validLoss"],
    hypers: H,
    grads: undefined,
    stopEpoch: false,
    stopTraining: false,
    skipBackward: false,
    skipStep: false,
    skipZero: false,
    skipValidate: false,
    memory: {},
    error: undefined,
    seed: 0,
  });
  assertStrictEquals(s.loss, loss);
  assertEquals([EMPTY_SMOOTHER.movAvg, EMPTY_SMOOTHER.n, String(EMPTY_SMOOTHER.value)], [
    0,
    0,
    "NaN",
  ]);
});

Deno.test("initialState() takes batches per epoch, metric names, memory and seed", () => {
  const s = initialState({
    nEpochs: 1,
    hypers: H,
    loss,
    nBatches: 7,
    metricNames: ["accuracy", "errorRate"],
    memory: { cb: 1 },
    seed: 42,
  });
  assertEquals([s.nBatches, s.metricNames, s.memory, s.seed], [
    7,
    ["validLoss", "accuracy", "errorRate"],
    { cb: 1 },
    42,
  ]);
});

Deno.test("beginEpoch(), beginBatch(), endBatch() and endEpochBatches() change exactly their fields", () => {
  const t = { t: 1 } as unknown as Tensor;
  const u = { u: 1 } as unknown as Tensor;
  const s0 = initialState({ nEpochs: 2, hypers: H, loss });
  const busy: TrainState = {
    ...s0,
    numBatch: 4,
    iteration: 9,
    stopEpoch: true,
    stopTraining: true,
    train: false,
    skipValidate: true,
  };
  const e = beginEpoch(busy, 1);
  assertEquals(plain(e), {
    ...plain(busy),
    epoch: 1,
    numBatch: 0,
    stopEpoch: false,
    train: true,
  });
  const flagged: TrainState = {
    ...e,
    skipBackward: true,
    skipStep: true,
    skipZero: true,
    lastOutput: u,
    lastLoss: u,
    grads: { w: u },
  };
  const b = beginBatch(flagged, t, t, false);
  assertEquals(plain(b), {
    ...plain(flagged),
    train: false,
    lastInput: t,
    lastTarget: t,
    lastOutput: undefined,
    lastLoss: undefined,
    grads: undefined,
    skipBackward: false,
    skipStep: false,
    skipZero: false,
  });
  // a validation batch ends: tensors released, counters unchanged
  const full: TrainState = { ...b, lastOutput: u, lastLoss: u, grads: { w: u } };
  const v = endBatch(full);
  assertEquals(plain(v), {
    ...plain(full),
    lastInput: undefined,
    lastTarget: undefined,
    lastOutput: undefined,
    lastLoss: undefined,
    grads: undefined,
  });
  // a training batch ends: both counters advance by one
  const tr = endBatch({ ...full, train: true });
  assertEquals([tr.iteration, tr.numBatch, tr.train], [10, 1, true]);
  const done = endEpochBatches(tr, [0.5, 0.75], ["validLoss", "accuracy"]);
  assertEquals(plain(done), {
    ...plain(tr),
    train: false,
    lastMetrics: [0.5, 0.75],
    metricNames: ["validLoss", "accuracy"],
  });
});

Deno.test("freezeHypers() keeps a frozen array of frozen records as it is, and freezes the rest", () => {
  const h = (lr: number): Hypers => ({ lr, mom: 0.9, sqrMom: 0.99, eps: 1e-7, wd: 0 });
  const a = Object.freeze(h(1));
  const b = Object.freeze(h(2));
  const frozen = Object.freeze([a, b]);
  // no copy when nothing needs freezing (the handler compares hypers by identity)
  assertStrictEquals(freezeHypers(frozen), frozen);
  // a frozen array holding an unfrozen record: a new array, every record frozen
  for (const given of [Object.freeze([h(3)]), Object.freeze([a, h(3)])]) {
    const out = freezeHypers(given);
    assert(out !== given && out.every((h) => Object.isFrozen(h)) && Object.isFrozen(out));
    assertEquals(out.map((h) => h.lr), given.map((h) => h.lr));
    assertStrictEquals(out[0] === a, given[0] === a); // frozen records are kept, not copied
  }
});

Deno.test("endEpochBatches() copies and freezes the metrics it is given", () => {
  const s0 = initialState({ nEpochs: 1, hypers: [], loss: () => 0 as never });
  const values = [0.5, 0.75];
  const names = ["validLoss", "accuracy"];
  const s1 = endEpochBatches(s0, values, names);
  values[0] = 9;
  names.push("f1");
  assertEquals([s1.lastMetrics, s1.metricNames], [[0.5, 0.75], ["validLoss", "accuracy"]]);
  assert(Object.isFrozen(s1.lastMetrics) && Object.isFrozen(s1.metricNames));
  const kept = Object.freeze([1, 2]);
  assertStrictEquals(endEpochBatches(s0, kept, ["a", "b"]).lastMetrics, kept);
});
