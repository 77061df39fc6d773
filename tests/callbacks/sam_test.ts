// sam(): the step from the gradient at w + rho g / ||g|| against a float64 hand
// computation, the weights back bit for bit, batch-norm statistics updated once, two
// forward passes per step, no tensor growth.
import * as tf from "@tensorflow/tfjs";
import { assertEquals, assertThrows } from "@std/assert";
import type { Callback } from "../../core/callback.ts";
import { mixUp } from "../../callbacks/mix_up.ts";
import { sam } from "../../callbacks/sam.ts";
import { fit } from "../../core/fit.ts";
import { disposeLearner, learner } from "../../core/learner.ts";
import { crossEntropy, mse } from "../../core/losses.ts";
import { sgd } from "../../optim/sgd.ts";
import { blobs, disposeBatches, useCpu } from "../_helpers.ts";
import { close, grad, linear, linearData, type P, paramsOf } from "../_linear.ts";
import { weightsOf } from "../_resume.ts";

await useCpu();

/** The gradient at the perturbed weights, in float64. */
function samGrad(p: P, i: number, rho: number): [number, number, number] {
  const g = grad(p, i);
  const scale = rho / (Math.hypot(...g) + 1e-12);
  return grad([p[0] + scale * g[0], p[1] + scale * g[1], p[2] + scale * g[2]], i);
}

Deno.test("sam() steps with the gradient at w + rho g / ||g|| (float64 by hand), two forward passes a step", async () => {
  const data = linearData();
  const model = linear();
  const learn = learner({ model, data: { train: data.batches }, loss: mse, optimizer: sgd() });
  const before = tf.memory().numTensors;
  await fit(learn, 2, { lr: 0.1, callbacks: [sam({ rho: 0.05 })] });
  disposeLearner(learn);
  assertEquals(tf.memory().numTensors, before);
  let p: P = [0.5, -0.25, 0.1];
  for (let step = 0; step < 6; step++) {
    const g = samGrad(p, step % 3, 0.05);
    p = [p[0] - 0.1 * g[0], p[1] - 0.1 * g[1], p[2] - 0.1 * g[2]];
  }
  close(await paramsOf(model), p);
  assertEquals(model.calls, 12);
  model.dispose();
  data.dispose();
});

Deno.test("sam() replaces the batch's gradients and puts the weights back bit for bit", async () => {
  const data = linearData();
  const model = linear();
  const learn = learner({ model, data: { train: data.batches }, loss: mse, optimizer: sgd() });
  const start = await paramsOf(model);
  const seen: { before: number[]; after: number[]; p: number[] }[] = [];
  const flat = async (g: Record<string, tf.Tensor>) => [
    ...await g[model.w.name]!.data(),
    ...await g[model.b.name]!.data(),
  ];
  const probes: Callback[] = [
    {
      name: "before",
      order: -20,
      onBackwardEnd: async (s) =>
        void seen.push({ before: await flat(s.grads!), after: [], p: await paramsOf(model) }),
    },
    {
      name: "after",
      onBackwardEnd: async (s) => {
        const last = seen.at(-1)!;
        last.after = await flat(s.grads!);
        last.p = await paramsOf(model);
      },
    },
  ];
  await fit(learn, 1, { lr: 0, callbacks: [sam({ rho: 0.5 }), ...probes] });
  assertEquals(await paramsOf(model), start); // lr 0: not a bit moved
  seen.forEach((x, i) => {
    close(x.before, grad(start as unknown as P, i));
    close(x.after, samGrad(start as unknown as P, i, 0.5));
    assertEquals(x.p, start);
  });
  disposeLearner(learn);
  model.dispose();
  data.dispose();
});

Deno.test("sam()'s second pass leaves BatchNorm statistics alone: with lr 0 a run equals one without sam", async () => {
  const runs: Float32Array[][] = [];
  for (const callbacks of [[], [sam()]]) {
    const train = blobs(64, 7, 16);
    const model = tf.sequential({
      layers: [
        tf.layers.dense({
          units: 4,
          inputShape: [2],
          kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
        }),
        tf.layers.batchNormalization(),
        tf.layers.dense({
          units: 2,
          kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
        }),
      ],
    });
    const learn = learner({ model, data: { train }, loss: crossEntropy, optimizer: sgd() });
    await fit(learn, 1, { lr: 0, callbacks });
    runs.push(await weightsOf(learn));
    disposeLearner(learn);
    disposeBatches(train);
    model.dispose();
  }
  assertEquals(runs[1], runs[0]); // moving mean and variance included
});

Deno.test("sam() works through a wrapped loss and packed targets (mixUp), leaking nothing", async () => {
  const train = blobs(64, 8, 16);
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ units: 8, inputShape: [2], activation: "relu" }),
      tf.layers.dropout({ rate: 0.2 }),
      tf.layers.dense({ units: 2 }),
    ],
  });
  const learn = learner({ model, data: { train }, loss: crossEntropy, optimizer: sgd() });
  const before = tf.memory().numTensors;
  const { history } = await fit(learn, 2, { lr: 0.1, callbacks: [mixUp(), sam()] });
  disposeLearner(learn);
  assertEquals(tf.memory().numTensors, before);
  assertEquals(history.nBatches, [4, 4]);
  disposeBatches(train);
  model.dispose();
});

Deno.test("sam() checks rho", () => {
  assertThrows(() => sam({ rho: 0 }), RangeError, "'rho' must be a positive number");
  assertThrows(() => sam({ rho: NaN }), RangeError, "'rho'");
});
