import * as tf from "@tensorflow/tfjs";
import { assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { gradualUnfreeze } from "../../callbacks/gradual_unfreeze.ts";
import type { Callback } from "../../core/callback.ts";
import { batches } from "../../core/data.ts";
import { fit } from "../../core/fit.ts";
import { disposeLearner, learner } from "../../core/learner.ts";
import { mse } from "../../core/losses.ts";
import { snapshot } from "../../core/snapshot.ts";
import { lrRange } from "../../optim/hypers.ts";
import { sgd } from "../../optim/sgd.ts";
import { useCpu } from "../_helpers.ts";

await useCpu();

/** out = x (a + b + c): three scalar weights, one layer group each (a first, c the head). */
function threeGroups(start = [0.5, -0.25, 1]) {
  const vars = start.map((v) => tf.variable(tf.scalar(v)));
  const model = {
    variables: vars,
    apply: (x: tf.Tensor | tf.Tensor[]) => tf.mul(x as tf.Tensor, tf.addN(vars)),
  };
  const x = tf.tensor2d([[1], [2]]);
  const y = tf.tensor2d([[1], [0]]);
  const learn = learner({
    model,
    data: { train: batches(x, y, { batchSize: 1 }) },
    loss: mse,
    optimizer: sgd(),
    layerGroups: vars.map((v) => [v]),
  });
  const values = () => Promise.all(vars.map((v) => v.data().then((d) => d[0]!)));
  return { learn, values, dispose: () => (disposeLearner(learn), tf.dispose([...vars, x, y])) };
}

Deno.test("gradualUnfreeze: the head, then one more group each epoch — SGD by hand in float64", async () => {
  const run = threeGroups();
  const before = tf.memory().numTensors;
  const lrs = [0.01, Math.sqrt(0.01 * 0.1), 0.1]; // lrRange(0.01, 0.1) over three groups
  await fit(run.learn, 4, { lr: lrRange(0.01, 0.1), callbacks: [gradualUnfreeze()] });
  // by hand: per batch (x, y) the gradient for every weight is 2 x (x s - y), s = a + b + c
  const w = [0.5, -0.25, 1];
  const samples = [[1, 1], [2, 0]];
  for (let epoch = 0; epoch < 4; epoch++) {
    const trainable = Math.min(3, 1 + epoch);
    for (const [x, y] of samples) {
      const s = w[0]! + w[1]! + w[2]!;
      const g = 2 * x! * (x! * s - y!);
      for (let i = 3 - trainable; i < 3; i++) w[i] = w[i]! - lrs[i]! * g;
    }
  }
  const got = await run.values();
  got.forEach((v, i) => assertAlmostEquals(v, w[i]!, 1e-6));
  run.dispose();
  assertEquals(tf.memory().numTensors, before - 3 - 2); // the variables and data, no more
});

Deno.test("gradualUnfreeze: frozen groups stay bit for bit until their epoch; start and every", async () => {
  const run = threeGroups();
  const trace: number[][] = [];
  const watch: Callback = {
    name: "watch",
    onEpochEnd: async () => void trace.push(await run.values()),
  };
  await fit(run.learn, 5, {
    lr: 0.05,
    callbacks: [gradualUnfreeze({ start: 2, every: 2 }), watch],
  });
  // trainable groups per epoch: 2, 2, 3, 3, 3 → group a moves from epoch 2 on
  assertEquals([trace[0]![0], trace[1]![0]], [0.5, 0.5]);
  assertEquals(trace[2]![0] !== 0.5, true);
  assertEquals(trace[0]![1] !== -0.25, true);
  assertThrows(
    () => gradualUnfreeze({ every: 0 }),
    RangeError,
    "'every' must be a positive integer",
  );
  run.dispose();
});

Deno.test("gradualUnfreeze resumes mid-epoch from a snapshot into a fresh, unfrozen model exactly", async () => {
  const dir = await Deno.makeTempDir();
  const whole = threeGroups();
  // a snapshot after the first batch of epoch 1 (two groups trainable, the first frozen)
  const snap: Callback = {
    name: "snap",
    onBatchEnd: async (s, ctx) => {
      if (s.train && s.iteration === 2) {
        await snapshot(ctx.learner!, s, { dir: `${dir}/s`, inBatch: true });
      }
    },
  };
  await fit(whole.learn, 3, { lr: 0.05, callbacks: [gradualUnfreeze(), snap] });
  const resumed = threeGroups([9, 9, 9]); // all trainable; the snapshot's weights come in
  await fit(resumed.learn, 3, { lr: 0.05, resume: `${dir}/s`, callbacks: [gradualUnfreeze()] });
  assertEquals(await resumed.values(), await whole.values());
  whole.dispose();
  resumed.dispose();
  await Deno.remove(dir, { recursive: true });
});
