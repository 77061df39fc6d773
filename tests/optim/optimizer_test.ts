// optimizerStep and the optimizer state, by hand: parameters without a gradient are left
// alone, new parameters get slots next to the old ones, weight decay is decoupled unless
// asked otherwise, slots are plain (not trainable) variables, and the state's export and
// import hold exactly the slot values.
import * as tf from "@tensorflow/tfjs";
import { assertAlmostEquals, assertEquals, assertNotStrictEquals } from "@std/assert";
import { adam } from "../../optim/adam.ts";
import {
  disposeOptimizerState,
  exportOptimizerState,
  importOptimizerState,
  initOptimizer,
  optimizerStep,
} from "../../optim/optimizer.ts";
import { sgd } from "../../optim/sgd.ts";
import { num, useCpu } from "../_helpers.ts";

await useCpu();

const h = (over: Partial<{ lr: number; mom: number; wd: number }> = {}) => ({
  lr: 0.1,
  mom: 0,
  sqrMom: 0,
  eps: 0,
  wd: 0,
  ...over,
});

Deno.test("a parameter without a gradient is left alone, weights and slots", async () => {
  const a = tf.variable(tf.scalar(1));
  const b = tf.variable(tf.scalar(5));
  const params = [{ variable: a, group: 0, decay: true }, { variable: b, group: 0, decay: true }];
  const opt = sgd();
  let state = initOptimizer(opt, params);
  const g = { [a.name]: tf.scalar(2) };
  state = optimizerStep(opt, params, g, state, [h({ mom: 0.9, wd: 0.5 })]);
  // a: 1 * (1 - 0.1 * 0.5) - 0.1 * 2 = 0.75; b untouched (no gradient, so no decay either)
  assertAlmostEquals(await num(a), 0.75, 1e-6);
  assertEquals(await num(b), 5);
  const data = await exportOptimizerState(state);
  assertEquals(data.slots[b.name], [{ shape: [], values: [0] }]);
  assertEquals(state.step, 1);
  tf.dispose(Object.values(g));
  disposeOptimizerState(state);
  tf.dispose([a, b]);
});

Deno.test("a parameter that appears later gets its slots; the others keep theirs", async () => {
  const a = tf.variable(tf.scalar(0));
  const b = tf.variable(tf.scalar(0));
  const opt = sgd();
  const pa = { variable: a, group: 0, decay: true };
  const pb = { variable: b, group: 0, decay: true };
  const g = { [a.name]: tf.scalar(1), [b.name]: tf.scalar(1) };
  let state = optimizerStep(opt, [pa], g, initOptimizer(opt, [pa]), [h({ mom: 0.5 })]);
  const slotA = state.slots[a.name]![0]!;
  state = optimizerStep(opt, [pa, pb], g, state, [h({ mom: 0.5 })]);
  assertEquals(Object.keys(state.slots).sort(), [a.name, b.name].sort());
  assertEquals(state.slots[a.name]![0], slotA); // the same variable, updated in place
  // a: buf 1 then 0.5 * 1 + 1 = 1.5 -> a = -0.1 - 0.15; b: buf 1 -> b = -0.1
  assertAlmostEquals(await num(a), -0.25, 1e-6);
  assertAlmostEquals(await num(b), -0.1, 1e-6);
  tf.dispose(Object.values(g));
  disposeOptimizerState(state);
  tf.dispose([a, b]);
});

Deno.test("weight decay is decoupled by default and L2 with trueWd: false", async () => {
  const run = async (options?: { trueWd: boolean }) => {
    const w = tf.variable(tf.scalar(2));
    const params = [{ variable: w, group: 0, decay: true }];
    const opt = adam();
    const g = { [w.name]: tf.scalar(1) };
    const hy = { lr: 0.1, mom: 0.9, sqrMom: 0.999, eps: 0, wd: 0.5 };
    const state = optimizerStep(opt, params, g, initOptimizer(opt, params), [hy], options);
    const v = await num(w);
    tf.dispose(Object.values(g));
    disposeOptimizerState(state);
    w.dispose();
    return v;
  };
  // Adam's first step is lr * sign(g). Decoupled: 2 * (1 - 0.1 * 0.5) - 0.1 = 1.8.
  // L2: the gradient becomes 1 + 0.5 * 2 = 2, still positive: 2 - 0.1 = 1.9.
  assertAlmostEquals(await run(), 1.8, 1e-6);
  assertAlmostEquals(await run({ trueWd: true }), 1.8, 1e-6);
  assertAlmostEquals(await run({ trueWd: false }), 1.9, 1e-6);
});

Deno.test("SGD keeps no momentum buffer while mom is 0: a later momentum starts from zero", async () => {
  const w = tf.variable(tf.scalar(0));
  const params = [{ variable: w, group: 0, decay: true }];
  const opt = sgd();
  let state = initOptimizer(opt, params);
  const g1 = { [w.name]: tf.scalar(4) };
  const g2 = { [w.name]: tf.scalar(1) };
  state = optimizerStep(opt, params, g1, state, [h({ mom: 0 })]);
  assertEquals((await exportOptimizerState(state)).slots[w.name], [{ shape: [], values: [0] }]);
  state = optimizerStep(opt, params, g2, state, [h({ mom: 0.9 })]);
  // -0.1 * 4, then buf = 0.9 * 0 + 1: -0.4 - 0.1 = -0.5 (a buffer of 4 would give -0.86)
  assertAlmostEquals(await num(w), -0.5, 1e-6);
  tf.dispose([...Object.values(g1), ...Object.values(g2)]);
  disposeOptimizerState(state);
  w.dispose();
});

Deno.test("slots are plain variables: not trainable, exported with their values, imported twice safely", async () => {
  const w = tf.variable(tf.tensor1d([2, -1]));
  const params = [{ variable: w, group: 0, decay: true }];
  const opt = adam();
  let state = initOptimizer(opt, params);
  const g = { [w.name]: tf.tensor1d([1, 2]) };
  state = optimizerStep(opt, params, g, state, [{
    lr: 0.1,
    mom: 0.9,
    sqrMom: 0.99,
    eps: 1e-7,
    wd: 0,
  }]);
  for (const v of state.slots[w.name]!) assertEquals(v.trainable, false);
  const data = await exportOptimizerState(state);
  // m = 0.1 g, v = 0.01 g^2
  assertEquals(data.step, 1);
  assertEquals(data.slots[w.name]!.map((s) => s.shape), [[2], [2]]);
  const [m, v] = data.slots[w.name]!;
  m!.values.forEach((x, i) => assertAlmostEquals(x, [0.1, 0.2][i]!, 1e-7));
  v!.values.forEach((x, i) => assertAlmostEquals(x, [0.01, 0.04][i]!, 1e-8));
  // two imports of the same data live side by side
  const back1 = importOptimizerState(JSON.parse(JSON.stringify(data)));
  const back2 = importOptimizerState(JSON.parse(JSON.stringify(data)));
  for (const s of [back1, back2]) {
    for (const x of s.slots[w.name]!) assertEquals(x.trainable, false);
  }
  assertEquals(await exportOptimizerState(back2), await exportOptimizerState(back1));
  const before = tf.memory().numTensors;
  disposeOptimizerState(back1);
  disposeOptimizerState(back1); // twice is harmless
  assertEquals(tf.memory().numTensors, before - 2);
  disposeOptimizerState(back2);
  // the exported shape is a copy
  assertNotStrictEquals(m!.shape, state.slots[w.name]![0]!.shape);
  (m!.shape as number[]).push(7);
  assertEquals(state.slots[w.name]![0]!.shape, [2]);
  tf.dispose(Object.values(g));
  disposeOptimizerState(state);
  w.dispose();
});
