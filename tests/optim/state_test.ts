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
