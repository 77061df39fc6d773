import * as tf from "@tensorflow/tfjs";
import { assertAlmostEquals, assertEquals, assertRejects, assertThrows } from "@std/assert";
import {
  activationStats,
  type ActivationStatsMemory,
  activationStatsOf,
} from "../../callbacks/activation_stats.ts";
import { snapshotEvery } from "../../callbacks/snapshot_every.ts";
import { type Callback, memoryOf } from "../../core/callback.ts";
import { batches } from "../../core/data.ts";
import { dryRun } from "../../core/dry_run.ts";
import { fit } from "../../core/fit.ts";
import { disposeLearner, learner } from "../../core/learner.ts";
import { crossEntropy, mse } from "../../core/losses.ts";
import type { ApplyOptions, Input } from "../../core/types.ts";
import { mlp, useCpu } from "../_helpers.ts";

await useCpu();

// 12 samples of 2 features; h = x W with W fixed (lr 0), reported as "h"; out = sum(h)
const X = Array.from({ length: 12 }, (_, i) => [Math.sin(i + 1) * 2, Math.cos(3 * i) - 0.5]);
const W = [[0.5, -1, 2], [1.5, 0.25, -0.75]];

function handModel() {
  const w = tf.variable(tf.tensor2d(W));
  return {
    w,
    variables: [w],
    apply(input: Input, options: ApplyOptions): tf.Tensor {
      const h = tf.matMul(input as tf.Tensor, w);
      options.capture?.("h", h);
      const out = tf.sum(h, 1, true);
      options.capture?.("out", out);
      return out;
    },
  };
}

/** Mean and population std of h over one batch of rows, in float64. */
function stats(rows: number[][]): [number[], number[]] {
  const h = rows.flatMap((r) => [0, 1, 2].map((j) => r[0]! * W[0]![j]! + r[1]! * W[1]![j]!));
  const out = rows.map((r) =>
    [0, 1, 2].reduce((s, j) => s + r[0]! * W[0]![j]! + r[1]! * W[1]![j]!, 0)
  );
  const ms = (v: number[]) => {
    const m = v.reduce((a, b) => a + b, 0) / v.length;
    return [m, Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length)];
  };
  const [a, b] = [ms(h), ms(out)];
  return [[a[0]!, b[0]!], [a[1]!, b[1]!]];
}

Deno.test("activationStats: per layer mean and std of the batch's own forward pass, every k batches", async () => {
  const model = handModel();
  const x = tf.tensor2d(X);
  const y = tf.zeros([12, 1]);
  const learn = learner({ model, data: { train: batches(x, y, { batchSize: 3 }) }, loss: mse });
  const before = tf.memory().numTensors;
  const { state } = await fit(learn, 2, {
    lr: 0,
    callbacks: [activationStats({ layers: ["h", "out"], every: 3 })],
  });
  const s = activationStatsOf(state);
  assertEquals(s.layers, ["h", "out"]);
  assertEquals(s.iterations, [0, 3, 6]);
  s.iterations.forEach((it, r) => {
    const b = it % 4; // 4 batches of 3 per epoch, in order
    const [means, stds] = stats(X.slice(3 * b, 3 * b + 3));
    means.forEach((m, l) => assertAlmostEquals(s.means[r]![l]!, m, 1e-5));
    stds.forEach((d, l) => assertAlmostEquals(s.stds[r]![l]!, d, 1e-5));
  });
  disposeLearner(learn);
  assertEquals(tf.memory().numTensors, before);
  tf.dispose([x, y, model.w]);
});

Deno.test("activationStats keeps the epoch's statistics on the device and reads them at its end", async () => {
  const model = mlp(3);
  const x = tf.randomNormal([40, 2], 0, 1, "float32", 1);
  const y = tf.tidy(() => tf.cast(tf.greater(tf.sum(x, 1), 0), "int32"));
  const learn = learner({
    model,
    data: { train: batches(x, y, { batchSize: 8 }) },
    loss: crossEntropy,
  });
  const seen: [number, number][] = [];
  const probe: Callback = {
    name: "probe",
    order: 1,
    onBatchEnd: (s) => {
      if (!s.train) return;
      const m = memoryOf<ActivationStatsMemory | undefined>(s, "activationStats", undefined)!;
      seen.push([m.pending.length, m.iterations.length]);
    },
  };
  const { state } = await fit(learn, 2, { callbacks: [activationStats(), probe] });
  // pending grows through an epoch; the logs are filled only at its end
  assertEquals(seen, [[1, 0], [2, 0], [3, 0], [4, 0], [5, 0], [1, 5], [2, 5], [3, 5], [4, 5], [
    5,
    5,
  ]]);
  assertEquals(activationStatsOf(state).layers, model.layers.map((l) => l.name));
  assertEquals(activationStatsOf(state).iterations.length, 10);
  disposeLearner(learn);
  model.dispose();
  tf.dispose([x, y]);
});

Deno.test("activationStats resumes from a mid-epoch snapshot with its pending statistics, exactly", async () => {
  const dir = await Deno.makeTempDir();
  const run = async (resume?: string) => {
    const model = mlp(4);
    const x = tf.randomNormal([40, 2], 0, 1, "float32", 2);
    const y = tf.tidy(() => tf.cast(tf.greater(tf.sum(x, 1), 0), "int32"));
    const learn = learner({
      model,
      data: { train: batches(x, y, { batchSize: 8, shuffle: true }) },
      loss: crossEntropy,
    });
    const callbacks = [
      activationStats(),
      ...(resume ? [] : [snapshotEvery({ dir: `${dir}/s`, batches: 7 })]),
    ];
    const { state } = await fit(learn, 2, { lr: 0.01, callbacks, ...(resume ? { resume } : {}) });
    disposeLearner(learn);
    model.dispose();
    tf.dispose([x, y]);
    return activationStatsOf(state);
  };
  const whole = await run();
  const before = tf.memory().numTensors;
  const resumed = await run(`${dir}/s`); // from batch 7: 2 statistics pending in epoch 1
  assertEquals(tf.memory().numTensors, before);
  assertEquals(resumed, whole);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("activationStats: options checked, hand-written models need names, dry runs and errors are safe", async () => {
  assertThrows(
    () => activationStats({ every: 0 }),
    RangeError,
    "'every' must be a positive integer",
  );
  await dryRun([activationStats()], { epochs: 1, batchesPerEpoch: 3 });
  const model = handModel();
  const x = tf.tensor2d(X);
  const y = tf.zeros([12, 1]);
  const learn = learner({ model, data: { train: batches(x, y) }, loss: mse });
  await assertRejects(
    () => fit(learn, 1, { callbacks: [activationStats()] }),
    TypeError,
    "without 'layers'",
  );
  const before = tf.memory().numTensors;
  const boom: Callback = {
    name: "boom",
    order: 1,
    onBatchEnd: () => {
      throw new Error("boom");
    },
  };
  await assertRejects(
    () => fit(learn, 1, { callbacks: [activationStats({ layers: ["h"] }), boom] }),
    Error,
    "boom",
  );
  disposeLearner(learn);
  assertEquals(tf.memory().numTensors, before);
  tf.dispose([x, y, model.w]);
});
