// mixUp (basics; fastai v1 numbers in mix_up_test.ts), gradientClipping, accumulateGradients, terminateOnNaN and timeLimit in real fits.
import * as tf from "@tensorflow/tfjs";
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertLessOrEqual,
  assertRejects,
  assertStrictEquals,
} from "@std/assert";
import type { Callback } from "../../core/callback.ts";
import { accumulateGradients } from "../../callbacks/accumulate_gradients.ts";
import { gradientClipping } from "../../callbacks/gradient_clipping.ts";
import { mixUp, type MixUpMemory } from "../../callbacks/mix_up.ts";
import { terminateOnNaN } from "../../callbacks/terminate_on_nan.ts";
import { timeLimit } from "../../callbacks/time_limit.ts";
import { _modelVariables } from "../../core/_weights.ts";
import { batches } from "../../core/data.ts";
import { fit } from "../../core/fit.ts";
import { disposeLearner, learner } from "../../core/learner.ts";
import { crossEntropy, mse } from "../../core/losses.ts";
import { accuracy } from "../../core/metrics.ts";
import { globalNorm } from "../../optim/clip_grad_norm.ts";
import { sgd } from "../../optim/sgd.ts";
import { blobs, disposeBatches, mlp, num, useCpu } from "../_helpers.ts";

await useCpu();

Deno.test("mixUp() mixes training batches, leaves validation alone and still learns", async () => {
  const train = blobs(512, 71);
  const valid = blobs(256, 72);
  const model = mlp(13);
  const learn = learner({ model, data: { train, valid }, loss: crossEntropy, metrics: [accuracy] });
  const seen: { train: boolean; shape: number[] }[] = [];
  const probe: Callback = {
    name: "probe",
    order: 5,
    onBatchBegin: (s) => void seen.push({ train: s.train, shape: s.lastTarget!.shape }),
  };
  const before = tf.memory().numTensors;
  const { state } = await fit(learn, 6, { lr: 1e-2, callbacks: [mixUp({ alpha: 0.4 }), probe] });
  assertEquals(seen.find((x) => x.train)!.shape, [2, 32]); // packed [y, y[perm]]
  assertEquals(seen.find((x) => !x.train)!.shape, [32]);
  const { lambdas } = state.memory.mixUp as MixUpMemory;
  assertEquals(lambdas.length, 32); // one per sample
  assert(lambdas.every((l) => l >= 0.5 && l <= 1));
  assert(state.lastMetrics[1]! > 0.9, `accuracy ${state.lastMetrics[1]}`);
  assertStrictEquals(state.loss, crossEntropy); // put back at the end
  disposeLearner(learn);
  assertEquals(tf.memory().numTensors, before);
  disposeBatches(train, valid);
  model.dispose();
});

Deno.test("mixUp() puts the loss back after a thrown error", async () => {
  const train = blobs(64, 73);
  const model = mlp();
  const learn = learner({ model, data: { train }, loss: crossEntropy });
  let lossAtEnd: unknown;
  let lossDuring: unknown;
  const boom = new Error("boom");
  await assertRejects(() =>
    fit(learn, 2, {
      callbacks: [
        mixUp(),
        {
          name: "bomb",
          order: 1,
          onBatchEnd: (s) => {
            lossDuring = s.loss;
            if (s.iteration === 1) throw boom;
          },
        },
        { name: "after", order: 10, onTrainEnd: (s) => void (lossAtEnd = s.loss) },
      ],
    })
  );
  assert(lossDuring !== crossEntropy);
  assertStrictEquals(lossAtEnd, crossEntropy);
  disposeLearner(learn);
  disposeBatches(train);
  model.dispose();
});

// mixUp's per-sample mixing and loss against hand computations: mix_up_test.ts

Deno.test("gradientClipping() caps the global gradient norm", async () => {
  const train = blobs(64, 74);
  const model = mlp();
  const learn = learner({ model, data: { train }, loss: crossEntropy, optimizer: sgd() });
  const norms: number[] = [];
  const unclipped: number[] = [];
  const before: Callback = {
    name: "before",
    order: -1,
    onBackwardEnd: async (s) => void unclipped.push(await num(globalNorm(s.grads!))),
  };
  const after: Callback = {
    name: "after",
    order: 1,
    onBackwardEnd: async (s) => void norms.push(await num(globalNorm(s.grads!))),
  };
  await fit(learn, 1, { lr: 10, callbacks: [before, gradientClipping({ clip: 0.05 }), after] });
  assertEquals(norms.length, 2);
  norms.forEach((n, i) => {
    assertLessOrEqual(n, 0.05 + 1e-6);
    if (unclipped[i]! > 0.05) assertAlmostEquals(n, 0.05, 1e-4);
  });
  disposeLearner(learn);
  disposeBatches(train);
  model.dispose();
});

Deno.test("accumulateGradients() over uneven batches equals one batch of them all", async () => {
  // 30 samples: batches of 8, 8, 8, 6 accumulated (nStep 4) vs one batch of 30, plain SGD.
  const x = tf.randomNormal([30, 2], 0, 1, "float32", 75);
  const y = tf.tidy(() => tf.cast(tf.greater(tf.sum(x, 1), 0), "int32"));
  const run = async (batchSize: number, callbacks: Callback[]): Promise<Float32Array[]> => {
    const model = mlp(21);
    const learn = learner({
      model,
      data: { train: batches(x, y, { batchSize }) },
      loss: crossEntropy,
      optimizer: sgd(),
    });
    const { history } = await fit(learn, 1, { lr: 0.5, callbacks });
    const w = await Promise.all(
      _modelVariables(model).map((v) => v.data() as Promise<Float32Array>),
    );
    assertEquals(history.losses.length, Math.ceil(30 / batchSize));
    disposeLearner(learn);
    model.dispose();
    return w;
  };
  const big = await run(30, []);
  const before = tf.memory().numTensors;
  const acc = await run(8, [accumulateGradients({ nStep: 4 })]);
  assertEquals(tf.memory().numTensors, before);
  big.forEach((w, i) => w.forEach((v, j) => assertAlmostEquals(acc[i]![j]!, v, 1e-5)));
  tf.dispose([x, y]);
});

Deno.test("the recorded loss is the raw loss, whatever onBackwardBegin does to it", async () => {
  const x = tf.tensor1d([1]);
  const y = tf.tensor1d([3]);
  const w = tf.variable(tf.zeros([]));
  const model = {
    variables: [w],
    apply: (i: tf.Tensor | tf.Tensor[]) => tf.mul(i as tf.Tensor, w),
  };
  const learn = learner({ model, data: { train: [[x, y]] }, loss: mse, optimizer: sgd() });
  const triple: Callback = {
    name: "triple",
    onBackwardBegin: (s) => ({ lastLoss: tf.mul(s.lastLoss!, 3) }),
  };
  const { history } = await fit(learn, 1, { lr: 0, callbacks: [triple] });
  assertAlmostEquals(history.losses[0]!, 9, 1e-5);
  disposeLearner(learn);
  tf.dispose([x, y, w]);
});

Deno.test("terminateOnNaN() stops at the batch whose loss is not finite and skips validation", async () => {
  const train = blobs(160, 76); // 5 batches
  const valid = blobs(32, 77);
  const model = mlp();
  const poisonAt = (
    o: tf.Tensor,
    t: tf.Tensor,
    i: number,
  ) => (i === 2 ? tf.div(crossEntropy(o, t), 0) : crossEntropy(o, t));
  let calls = 0;
  const loss = (o: tf.Tensor, t: tf.Tensor) => poisonAt(o, t, calls++) as tf.Scalar;
  const learn = learner({ model, data: { train, valid }, loss });
  const before = tf.memory().numTensors;
  const { state, history } = await fit(learn, 3, { callbacks: [terminateOnNaN()] });
  assertEquals(history.nBatches, [3]);
  assert(!Number.isFinite(history.losses[2]!));
  assert(Number.isNaN(state.lastMetrics[0]!)); // validation skipped
  disposeLearner(learn);
  assertEquals(tf.memory().numTensors, before);
  disposeBatches(train, valid);
  model.dispose();
});

Deno.test("timeLimit() stops cleanly once the budget is spent, after validating the epoch", async () => {
  const train = blobs(160, 78);
  const valid = blobs(32, 79);
  const model = mlp();
  const learn = learner({ model, data: { train, valid }, loss: crossEntropy });
  let t = 0;
  const tick: Callback = { name: "tick", onBatchEnd: (s) => void (s.train && (t += 100)) };
  const { history } = await fit(learn, 10, {
    callbacks: [tick, timeLimit({ seconds: 0.65, now: () => t })],
  });
  // 100 ms per batch: the 7th batch (2nd epoch, batch 2) crosses 0.65 s
  assertEquals(history.nBatches, [5, 2]);
  assertEquals(history.valLosses.length, 2);
  assert(history.valLosses.every(Number.isFinite));
  disposeLearner(learn);
  disposeBatches(train, valid);
  model.dispose();
});
