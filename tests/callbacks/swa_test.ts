// swa(): the lr phase and the running average against float64 hand computations, the
// batch-norm statistics recomputed as a running mean over the training data, resume bit
// for bit, and the average freed at the end and after an error.
import * as tf from "@tensorflow/tfjs";
import { assertAlmostEquals, assertEquals, assertRejects, assertThrows } from "@std/assert";
import type { Callback } from "../../core/callback.ts";
import { swa } from "../../callbacks/swa.ts";
import { _modelVariables } from "../../core/_weights.ts";
import { batches } from "../../core/data.ts";
import { fit } from "../../core/fit.ts";
import { disposeLearner, type Learner, learner } from "../../core/learner.ts";
import { mse } from "../../core/losses.ts";
import { sgd } from "../../optim/sgd.ts";
import { useCpu } from "../_helpers.ts";
import { close, grad, linear, linearData, type P, paramsOf } from "../_linear.ts";
import { interruptedVersusNot, weightsOf } from "../_resume.ts";

await useCpu();

/** SGD over the three batches with lr `lrAt(epoch, batch)`, in float64: the weights at each epoch's end. */
function epochEnds(epochs: number, lrAt: (e: number, b: number) => number): P[] {
  let p: P = [0.5, -0.25, 0.1];
  const ends: P[] = [];
  for (let e = 0; e < epochs; e++) {
    for (let i = 0; i < 3; i++) {
      const g = grad(p, i);
      const lr = lrAt(e, i);
      p = [p[0] - lr * g[0], p[1] - lr * g[1], p[2] - lr * g[2]];
    }
    ends.push(p);
  }
  return ends;
}

const mean = (ps: readonly P[]): number[] =>
  [0, 1, 2].map((j) => ps.reduce((sum, p) => sum + p[j]!, 0) / ps.length);

Deno.test("swa() trains at its lr from startEpoch and leaves the average of those epochs' final weights (float64 by hand)", async () => {
  const data = linearData();
  const model = linear();
  const learn = learner({ model, data: { train: data.batches }, loss: mse, optimizer: sgd() });
  const before = tf.memory().numTensors;
  const { state, history } = await fit(learn, 4, {
    lr: 0.1,
    callbacks: [swa({ startEpoch: 2, lr: 0.05 })],
  });
  disposeLearner(learn);
  assertEquals(tf.memory().numTensors, before);
  assertEquals(history.lrs, [...Array(6).fill(0.1), ...Array(6).fill(0.05)]);
  const ends = epochEnds(4, (e) => (e < 2 ? 0.1 : 0.05));
  close(await paramsOf(model), mean(ends.slice(2)));
  assertEquals(state.memory.swa, { n: 2 });
  model.dispose();
  data.dispose();
});

Deno.test("swa({ annealEpochs }) anneals the lr by a cosine from its value at startEpoch, per batch", async () => {
  const data = linearData();
  const model = linear();
  const learn = learner({ model, data: { train: data.batches }, loss: mse, optimizer: sgd() });
  const { history } = await fit(learn, 4, {
    lr: 0.1,
    callbacks: [swa({ startEpoch: 1, lr: 0.02, annealEpochs: 2 })],
  });
  const lrAt = (e: number, b: number): number => {
    if (e < 1) return 0.1;
    const t = Math.min(1, (e - 1 + b / 3) / 2);
    const a = (1 - Math.cos(Math.PI * t)) / 2;
    return 0.02 * a + 0.1 * (1 - a);
  };
  const expected = [0, 1, 2, 3].flatMap((e) => [0, 1, 2].map((b) => lrAt(e, b)));
  history.lrs.forEach((lr, i) => assertAlmostEquals(lr, expected[i]!, 1e-15));
  assertEquals(history.lrs.slice(9), [0.02, 0.02, 0.02]);
  close(await paramsOf(model), mean(epochEnds(4, lrAt).slice(1)));
  disposeLearner(learn);
  model.dispose();
  data.dispose();
});

/** A BatchNorm model (initial weights seeded by `init`) on 12 samples of 2 features, 3 batches of 4. */
function bnRun(init: number, shuffle = false): { learn: Learner; x: number[][]; dispose(): void } {
  const x = Array.from(
    { length: 12 },
    (_, i) => [Math.sin(i) * 3 + 1, (i % 5) - 2 + 0.1 * i],
  );
  const xt = tf.tensor2d(x);
  const yt = tf.tensor2d(x.map(([a, b]) => [a! - 2 * b!]));
  const model = tf.sequential({
    layers: [
      tf.layers.batchNormalization({ inputShape: [2] }),
      tf.layers.dense({
        units: 1,
        kernelInitializer: tf.initializers.glorotUniform({ seed: init }),
      }),
    ],
  });
  const learn = learner({
    model,
    data: { train: batches(xt, yt, { batchSize: 4, shuffle }) },
    loss: mse,
    optimizer: sgd(),
  });
  return {
    learn,
    x,
    dispose: () => (disposeLearner(learn), tf.dispose([xt, yt]), model.dispose()),
  };
}

Deno.test("swa() recomputes BatchNorm statistics as the running mean over one pass of the training data", async () => {
  const run = bnRun(1);
  const ends: number[][][] = [];
  const probe: Callback = {
    name: "probe",
    onEpochEnd: async () => void ends.push((await weightsOf(run.learn)).map((w) => Array.from(w))),
  };
  await fit(run.learn, 3, { lr: 0.05, callbacks: [swa({ startEpoch: 1, lr: 0.02 }), probe] });
  const model = run.learn.model as tf.LayersModel;
  const names = _modelVariables(model).map((v) => v.name); // weightsOf's order
  const got = (await weightsOf(run.learn)).map((w) => Array.from(w));
  // trained weights (gamma, beta, kernel, bias): the average of epochs 1 and 2's final ones
  names.forEach((name, i) => {
    if (/moving/.test(name)) return;
    close(got[i]!, ends[1]![i]!.map((v, j) => (v + ends[2]![i]![j]!) / 2), 1e-6);
  });
  // moving statistics: mean over the 3 batches of each batch's mean and (biased) variance
  const batchStats = [0, 1, 2].map((k) => {
    const rows = run.x.slice(4 * k, 4 * k + 4);
    return [0, 1].map((f) => {
      const m = rows.reduce((s, r) => s + r[f]!, 0) / 4;
      return [m, rows.reduce((s, r) => s + (r[f]! - m) ** 2, 0) / 4];
    });
  });
  const expMean = [0, 1].map((f) => batchStats.reduce((s, b) => s + b[f]![0]!, 0) / 3);
  const expVar = [0, 1].map((f) => batchStats.reduce((s, b) => s + b[f]![1]!, 0) / 3);
  close(got[names.findIndex((n) => /moving_mean/.test(n))]!, expMean, 1e-5);
  close(got[names.findIndex((n) => /moving_variance/.test(n))]!, expVar, 1e-5);
  assertEquals((model.layers[0] as unknown as { momentum: number }).momentum, 0.99); // put back
  run.dispose();
});

Deno.test("swa() resumed from a mid-epoch snapshot keeps the average and its count, bit for bit", async () => {
  const { straight, resumed, a, b } = await interruptedVersusNot({
    setup: (init) => bnRun(init, true),
    epochs: 4,
    callbacks: () => [swa({ startEpoch: 1, lr: 0.02, annealEpochs: 2 })],
    options: { lr: 0.05 },
    at: 7, // epoch 2, batch 1: one weight set averaged, the lr still annealing
    read: (learn) => weightsOf(learn),
  });
  assertEquals(resumed, straight);
  assertEquals(b.history, a.history);
  assertEquals(b.state.memory.swa, a.state.memory.swa);
  assertEquals(a.state.memory.swa, { n: 3 }); // the tensors are gone
});

Deno.test("swa() frees the average after an error and leaves the live weights", async () => {
  const run = bnRun(2);
  let live: Float32Array[] | undefined;
  const bomb: Callback = {
    name: "bomb",
    async onBatchEnd(s) {
      live = await weightsOf(run.learn);
      if (s.epoch === 2 && s.numBatch === 1) throw new Error("boom");
    },
  };
  const before = tf.memory().numTensors;
  await assertRejects(
    () => fit(run.learn, 4, { lr: 0.05, callbacks: [swa({ startEpoch: 0, lr: 0.02 }), bomb] }),
    Error,
    "boom",
  );
  disposeLearner(run.learn);
  assertEquals(tf.memory().numTensors, before);
  assertEquals(await weightsOf(run.learn), live);
  run.dispose();
});

Deno.test("swa() checks its options and the fit", async () => {
  assertThrows(() => swa({ startEpoch: -1, lr: 0.1 }), RangeError, "'startEpoch'");
  assertThrows(() => swa({ startEpoch: 0, lr: 0 }), RangeError, "'lr' must be positive");
  assertThrows(
    () => swa({ startEpoch: 0, lr: 1, annealEpochs: 0.5 }),
    RangeError,
    "'annealEpochs'",
  );
  const data = linearData();
  const model = linear();
  const learn = learner({ model, data: { train: data.batches }, loss: mse, optimizer: sgd() });
  await assertRejects(
    () => fit(learn, 2, { callbacks: [swa({ startEpoch: 2, lr: 0.1 })] }),
    RangeError,
    "'startEpoch' must be below the fit's 2 epochs",
  );
  await assertRejects(
    () => fit(learn, 2, { callbacks: [swa({ startEpoch: 0, lr: [0.1, 0.2] })] }),
    RangeError,
    "layer groups",
  );
  disposeLearner(learn);
  model.dispose();
  data.dispose();
});
