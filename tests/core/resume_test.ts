// `fit(..., { resume, lr, wd })`: an lr or wd given with resume replaces the state's, and
// only that one; the other carries on from the state. Checked on y = w x with SGD and
// decoupled weight decay, by hand: w <- w (1 - lr wd) - lr * 2 x (w x - y).
import * as tf from "@tensorflow/tfjs";
import { assertAlmostEquals, assertEquals } from "@std/assert";
import { batches } from "../../core/data.ts";
import { fit, type FitOptions, type FitResult } from "../../core/fit.ts";
import { disposeLearner, learner } from "../../core/learner.ts";
import { mse } from "../../core/losses.ts";
import type { TrainState } from "../../core/state.ts";
import { sgd } from "../../optim/sgd.ts";
import { num, scaleModel, useCpu } from "../_helpers.ts";

await useCpu();

/** The state after a finished fit, pointing at the next epoch's first batch. */
const next = (r: FitResult): TrainState => ({
  ...r.state,
  epoch: r.state.epoch + 1,
  numBatch: 0,
  train: true,
});

/**
 * One epoch (x = 1, y = 2, one batch) with lr 0.1 and wd 0.3 from w = 0, then a second
 * epoch resumed with `options`; the weight and the hypers the second step used.
 */
async function resumed(options: FitOptions): Promise<{ w: number; lr: number; wd: number }> {
  const x = tf.tensor1d([1]);
  const y = tf.tensor1d([2]);
  const model = scaleModel(0);
  const learn = learner({
    model,
    data: { train: batches(x, y, { batchSize: 1 }) },
    loss: mse,
    optimizer: sgd(),
  });
  const first = await fit(learn, 1, { lr: 0.1, wd: 0.3 });
  // w1 = 0 * (1 - 0.03) - 0.1 * 2 * (0 - 2) = 0.4
  assertAlmostEquals(await num(model.w), 0.4, 1e-6);
  const second = await fit(learn, 2, { ...options, resume: next(first) });
  assertEquals(second.history.nBatches, [1, 1]);
  const w = await num(model.w);
  const h = second.state.hypers[0]!;
  disposeLearner(learn);
  model.dispose();
  tf.dispose([x, y]);
  return { w, lr: h.lr, wd: h.wd };
}

Deno.test("resume with a wd replaces the state's wd and keeps its lr", async () => {
  const r = await resumed({ wd: 0.5 });
  assertEquals([r.lr, r.wd], [0.1, 0.5]);
  // w2 = 0.4 * (1 - 0.1 * 0.5) - 0.1 * 2 * (0.4 - 2) = 0.38 + 0.32
  assertAlmostEquals(r.w, 0.7, 1e-6);
});

Deno.test("resume with an lr replaces the state's lr and keeps its wd", async () => {
  const r = await resumed({ lr: 0.2 });
  assertEquals([r.lr, r.wd], [0.2, 0.3]);
  // w2 = 0.4 * (1 - 0.2 * 0.3) - 0.2 * 2 * (0.4 - 2) = 0.376 + 0.64
  assertAlmostEquals(r.w, 1.016, 1e-6);
});

Deno.test("resume with both replaces both; with neither keeps the state's", async () => {
  const both = await resumed({ lr: 0.05, wd: 0 });
  assertEquals([both.lr, both.wd], [0.05, 0]);
  // w2 = 0.4 - 0.05 * 2 * (0.4 - 2) = 0.56
  assertAlmostEquals(both.w, 0.56, 1e-6);
  const neither = await resumed({});
  assertEquals([neither.lr, neither.wd], [0.1, 0.3]);
  // w2 = 0.4 * 0.97 + 0.32 = 0.708
  assertAlmostEquals(neither.w, 0.708, 1e-6);
});
