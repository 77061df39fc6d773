import * as tf from "@tensorflow/tfjs";
import { assertEquals, assertThrows } from "@std/assert";
import { fit } from "../../core/fit.ts";
import { disposeLearner, learner } from "../../core/learner.ts";
import { crossEntropy } from "../../core/losses.ts";
import { adam } from "../../optim/adam.ts";
import { lamb } from "../../optim/lamb.ts";
import {
  disposeOptimizerState,
  exportOptimizerState,
  importOptimizerState,
  initOptimizer,
  optimizerStep,
} from "../../optim/optimizer.ts";
import { rmsprop } from "../../optim/rmsprop.ts";
import { sgd } from "../../optim/sgd.ts";
import { blobs, disposeBatches, mlp, useCpu } from "../_helpers.ts";

await useCpu();

Deno.test("no optimizer grows the tensor count over 100 steps, with changing hypers", () => {
  for (const opt of [sgd(), adam(), rmsprop(), lamb()]) {
    const w = tf.variable(tf.randomNormal([4, 4], 0, 1, "float32", 1));
    const params = [{ variable: w, group: 0, decay: true }];
    let state = initOptimizer(opt, params);
    const g = { [w.name]: tf.randomNormal([4, 4], 0, 1, "float32", 2) };
    const before = tf.memory().numTensors;
    for (let i = 0; i < 100; i++) {
      const h = {
        lr: 0.01 * (1 + i / 100),
        mom: 0.9 - i / 1000,
        sqrMom: 0.99,
        eps: 1e-7,
        wd: 0.01,
      };
      state = optimizerStep(opt, params, g, state, [h]);
    }
    assertEquals(tf.memory().numTensors, before, opt.name);
    assertEquals(state.step, 100);
    disposeOptimizerState(state);
    tf.dispose([w, ...Object.values(g)]);
  }
});

Deno.test("the learner keeps the optimizer state across fits and it round-trips as plain data", async () => {
  const train = blobs(64, 31);
  const model = mlp();
  const learn = learner({ model, data: { train }, loss: crossEntropy });
  await fit(learn, 1);
  assertEquals(learn.optState!.step, 2);
  await fit(learn, 1);
  assertEquals(learn.optState!.step, 4);
  const data = await exportOptimizerState(learn.optState!);
  const copy = importOptimizerState(JSON.parse(JSON.stringify(data)));
  assertEquals(await exportOptimizerState(copy), data);
  disposeOptimizerState(copy);
  assertThrows(
    () => importOptimizerState({ step: 1, slots: { w: [{ shape: [3], values: [1, 2] }] } }),
    RangeError,
    "has 2 values for shape [3]",
  );
  disposeLearner(learn);
  disposeBatches(train);
  model.dispose();
});

Deno.test("lamb() scales the Adam direction by the trust ratio rms(p) / rms(step)", async () => {
  // One step from p = [3, 4] with g = [1, -1]: mHat = g, vHat = g^2, s ≈ sign(g) = [1, -1];
  // rms(p) = sqrt(12.5), rms(s) ≈ 1, q = min(3.5355, 10): p - lr*q*s.
  const w = tf.variable(tf.tensor1d([3, 4]));
  const params = [{ variable: w, group: 0, decay: true }];
  const opt = lamb();
  const state = optimizerStep(
    opt,
    params,
    { [w.name]: tf.tensor1d([1, -1]) },
    initOptimizer(opt, params),
    [
      { lr: 0.1, mom: 0.9, sqrMom: 0.99, eps: 1e-6, wd: 0 },
    ],
  );
  const q = Math.sqrt(12.5) / (1 / (1 + 1e-6));
  const got = await w.data();
  assertEquals(Math.abs(got[0]! - (3 - 0.1 * q / (1 + 1e-6))) < 1e-5, true);
  assertEquals(Math.abs(got[1]! - (4 + 0.1 * q / (1 + 1e-6))) < 1e-5, true);
  disposeOptimizerState(state);
  w.dispose();
});

Deno.test("each parameter counts its own steps: a step without its gradient is not counted, and export keeps the counts", async () => {
  const a = tf.variable(tf.tensor1d([1]), true, "own_steps_a");
  const b = tf.variable(tf.tensor1d([1]), true, "own_steps_b");
  const params = [{ variable: a, group: 0, decay: true }, { variable: b, group: 0, decay: true }];
  const h = [{ lr: 0.1, mom: 0.9, sqrMom: 0.99, eps: 1e-7, wd: 0 }];
  const opt = adam();
  const g = (v: number) => tf.tensor1d([v]);
  const g1 = { [a.name]: g(1), [b.name]: g(1) };
  const g2 = { [a.name]: g(2) }; // b is frozen for this step
  const g3 = { [a.name]: g(1), [b.name]: g(3) };
  const s1 = optimizerStep(opt, params, g1, initOptimizer(opt, params), h);
  const s2 = optimizerStep(opt, params, g2, s1, h);
  assertEquals(s2.steps, { [a.name]: 2, [b.name]: 1 });
  const s3 = optimizerStep(opt, params, g3, s2, h);
  assertEquals([s3.step, s3.steps], [3, { [a.name]: 3, [b.name]: 2 }]);
  // b by hand (float64): Adam's second step for b debiases with t = 2, not 3
  let m = 0.1 * 1, v = 0.01 * 1; // after b's first step
  let wb = 1 - 0.1 * (m / 0.1) / (Math.sqrt(v / 0.01) + 1e-7);
  m = 0.9 * m + 0.1 * 3;
  v = 0.99 * v + 0.01 * 9;
  wb -= 0.1 * (m / (1 - 0.9 ** 2)) / (Math.sqrt(v / (1 - 0.99 ** 2)) + 1e-7);
  assertEquals(Math.abs((await b.data())[0]! - wb) < 1e-5, true, `${(await b.data())[0]} vs ${wb}`);
  const data = await exportOptimizerState(s3);
  assertEquals(data.steps, { [a.name]: 3, [b.name]: 2 });
  const back = importOptimizerState(JSON.parse(JSON.stringify(data)));
  assertEquals(back.steps, { [a.name]: 3, [b.name]: 2 });
  for (const t of [...Object.values(g1), ...Object.values(g2), ...Object.values(g3), a, b]) {
    t.dispose();
  }
  for (const s of [s3, back]) disposeOptimizerState(s);
});
