// modelSummary, trackMemory, lossMetrics, stopAfterBatches and showGraph on real fits.
import * as tf from "@tensorflow/tfjs";
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { lossMetrics } from "../../callbacks/loss_metrics.ts";
import { modelSummary } from "../../callbacks/model_summary.ts";
import { showGraph } from "../../callbacks/show_graph.ts";
import { stopAfterBatches } from "../../callbacks/stop_after_batches.ts";
import { trackMemory } from "../../callbacks/track_memory.ts";
import type { Callback } from "../../core/callback.ts";
import { batches } from "../../core/data.ts";
import { fit } from "../../core/fit.ts";
import { freeze } from "../../core/freeze.ts";
import { disposeLearner, learner } from "../../core/learner.ts";
import { crossEntropy, mse } from "../../core/losses.ts";
import { accuracy } from "../../core/metrics.ts";
import { blobs, disposeBatches, mlp, useCpu } from "../_helpers.ts";

await useCpu();

Deno.test("modelSummary: shapes, parameter counts, trainability and groups of a CNN with BatchNorm", () => {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [10, 10, 3], filters: 4, kernelSize: 3, name: "c1" }),
      tf.layers.batchNormalization({ name: "bn" }),
      tf.layers.maxPooling2d({ poolSize: 2, name: "pool" }),
      tf.layers.flatten({ name: "flat" }),
      tf.layers.dense({ units: 3, name: "fc" }),
    ],
  });
  const learn = learner({
    model,
    data: { train: [] },
    loss: crossEntropy,
    layerGroups: { splitAt: [3] },
  });
  freeze(learn);
  const s = modelSummary(learn);
  // conv: 3*3*3*4 + 4 = 112; bn: 4 gamma, 4 beta (trainable), 8 statistics; fc: 4*4*4*3 + 3 = 195
  assertEquals(
    s.rows.map((r) => [r.name, r.type, r.outputShape, r.params, r.trainableParams, r.group]),
    [
      ["c1", "Conv2D", "[?, 8, 8, 4]", 112, 0, "0"],
      ["bn", "BatchNormalization", "[?, 8, 8, 4]", 16, 8, "0"],
      ["pool", "MaxPooling2D", "[?, 4, 4, 4]", 0, 0, ""],
      ["flat", "Flatten", "[?, 64]", 0, 0, ""],
      ["fc", "Dense", "[?, 3]", 195, 195, "1"],
    ],
  );
  assertEquals([s.totalParams, s.trainableParams], [323, 203]);
  assertEquals(s.totalParams, model.countParams());
  const lines = s.text.split("\n");
  assertEquals(lines[0], "Layer (type)             Output shape  Params  Trainable  Group");
  assertEquals(lines[3], "bn (BatchNormalization)  [?, 8, 8, 4]      16  8          0");
  assertEquals(lines.at(-1), "Non-trainable params: 120");
  assertEquals(String(s), s.text);
  model.dispose();
});

Deno.test("modelSummary of a hand-written model: a row per variable", () => {
  const a = tf.variable(tf.zeros([3, 2]), true, "sum_a");
  const b = tf.variable(tf.zeros([2]), false, "sum_b");
  const learn = learner({
    model: { variables: [a, b], apply: (x: tf.Tensor | tf.Tensor[]) => x as tf.Tensor },
    data: { train: [] },
    loss: mse,
  });
  const s = modelSummary(learn);
  assertEquals(s.rows.map((r) => [r.name, r.outputShape, r.params, r.trainableParams]), [
    ["sum_a", "[3, 2]", 6, 6],
    ["sum_b", "[2]", 2, 0],
  ]);
  tf.dispose([a, b]);
});

Deno.test("trackMemory: tf.memory() per epoch in the history, silent on a clean fit", async () => {
  const data = blobs(64, 1, 16);
  const model = mlp(1);
  const learn = learner({ model, data: { train: data }, loss: crossEntropy, metrics: [accuracy] });
  const warnings: string[] = [];
  const live: number[][] = [];
  const probe: Callback = {
    name: "probe",
    onEpochEnd: () => void live.push([tf.memory().numTensors, tf.memory().numBytes]),
  };
  const { history } = await fit(learn, 3, {
    callbacks: [trackMemory({ warn: (m) => void warnings.push(m) }), probe],
  });
  assertEquals(history.metricNames, ["accuracy", "tensors", "bytes", "peakBytes"]);
  assertEquals(history.metrics.map((m) => [m[1], m[2]]), live);
  for (const m of history.metrics) {
    assert(m[3]! > m[2]!, `peak ${m[3]} above the live ${m[2]} bytes`);
  }
  assertEquals(warnings, []);
  disposeLearner(learn);
  model.dispose();
  disposeBatches(data);
});

Deno.test("trackMemory names the epochs where a callback leaks tensors", async () => {
  const data = blobs(32, 2, 16);
  const model = mlp(2);
  const learn = learner({ model, data: { train: data }, loss: crossEntropy });
  const leaked: tf.Tensor[] = [];
  const leak: Callback = {
    name: "leak",
    onEpochBegin: (s) => void (s.epoch >= 2 && leaked.push(tf.zeros([4]))),
  };
  const warnings: string[] = [];
  const { history } = await fit(learn, 4, {
    callbacks: [leak, trackMemory({ warn: (m) => void warnings.push(m) })],
  });
  const tensors = history.metrics.map((m) => m[0]!);
  assertEquals([tensors[1]! - tensors[0]!, tensors[2]! - tensors[1]!, tensors[3]! - tensors[2]!], [
    0,
    1,
    1,
  ]);
  assertEquals(warnings.length, 2);
  assertStringIncludes(warnings[0]!, `grew in epoch 2, from ${tensors[1]} to ${tensors[2]} (+1)`);
  assertStringIncludes(warnings[1]!, "grew in epoch 3");
  tf.dispose(leaked);
  disposeLearner(learn);
  model.dispose();
  disposeBatches(data);
});

Deno.test("lossMetrics: each part averaged over the validation set, weighted by batch size", async () => {
  // a constant model: output 1 everywhere; targets 0..4; batches of 2, 2 and 1
  const w = tf.variable(tf.ones([1, 1]));
  const model = {
    variables: [w],
    apply: (x: tf.Tensor | tf.Tensor[]) => tf.matMul(x as tf.Tensor, w),
  };
  const x = tf.ones([5, 1]);
  const y = tf.tensor2d([[0], [1], [2], [3], [4]]);
  const sq = (o: tf.Tensor, t: tf.Tensor) => tf.mean(tf.square(tf.sub(o, t))) as tf.Scalar;
  const abs = (o: tf.Tensor, t: tf.Tensor) => tf.mean(tf.abs(tf.sub(o, t))) as tf.Scalar;
  const learn = learner({
    model,
    data: { train: batches(x, y), valid: batches(x, y, { batchSize: 2 }) },
    loss: (o, t) => tf.add(sq(o, t), abs(o, t)) as tf.Scalar,
  });
  const before = tf.memory().numTensors;
  const { history } = await fit(learn, 2, { lr: 0, callbacks: [lossMetrics({ sq, abs })] });
  assertEquals(history.metricNames, ["sq", "abs"]);
  // errors -1, 0, 1, 2, 3: squares 1, 0, 1, 4, 9 (mean 3); absolute 1, 0, 1, 2, 3 (mean 1.4)
  for (const m of history.metrics) {
    assertAlmostEquals(m[0]!, 3, 1e-6);
    assertAlmostEquals(m[1]!, 1.4, 1e-6);
  }
  assertAlmostEquals(history.valLosses[0]!, 4.4, 1e-5);
  assertThrows(() => lossMetrics({}), TypeError, "at least one loss");
  disposeLearner(learn);
  assertEquals(tf.memory().numTensors, before);
  tf.dispose([w, x, y]);
});

Deno.test("stopAfterBatches: n training batches, no validation", async () => {
  const data = blobs(64, 3, 8);
  const model = mlp(3);
  const learn = learner({ model, data: { train: data, valid: data }, loss: crossEntropy });
  const { state, history } = await fit(learn, 3, { callbacks: [stopAfterBatches(5)] });
  assertEquals([state.iteration, history.nBatches, history.valLosses], [5, [5], [NaN]]);
  assertThrows(() => stopAfterBatches(0), RangeError, "'n' must be a positive integer");
  disposeLearner(learn);
  model.dispose();
  disposeBatches(data);
});

Deno.test("showGraph outside a notebook writes the loss plot at the end, also after an error", async () => {
  const dir = await Deno.makeTempDir();
  const data = blobs(32, 4, 8);
  const model = mlp(4);
  const learn = learner({ model, data: { train: data, valid: data }, loss: crossEntropy });
  await fit(learn, 2, { callbacks: [showGraph({ path: `${dir}/losses.svg` })] });
  const svg = await Deno.readTextFile(`${dir}/losses.svg`);
  assertStringIncludes(svg, "<svg");
  assertStringIncludes(svg, ">valid</text>");
  const boom: Callback = {
    name: "boom",
    onBatchEnd: (s) => {
      if (s.iteration === 2) throw new Error("boom");
    },
  };
  await assertRejects(
    () => fit(learn, 2, { callbacks: [showGraph({ path: `${dir}/failed.svg` }), boom] }),
    Error,
    "boom",
  );
  assertStringIncludes(await Deno.readTextFile(`${dir}/failed.svg`), "<svg");
  assertThrows(() => showGraph({ everyBatches: -1 }), RangeError, "'everyBatches'");
  disposeLearner(learn);
  model.dispose();
  disposeBatches(data);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("showGraph in a notebook: one display, updated in place every k batches and each epoch", async () => {
  const data = blobs(32, 5, 8);
  const model = mlp(5);
  const learn = learner({ model, data: { train: data, valid: data }, loss: crossEntropy });
  const calls: { update: boolean; id: string }[] = [];
  const display = (_b: Readonly<Record<string, string>>, o: { update: boolean; id: string }) =>
    void calls.push(o);
  await fit(learn, 2, { callbacks: [showGraph({ display, everyBatches: 2 })] });
  // begin, batches 2 and 4 of each epoch (iterations 1, 3, 5, 7), 2 epoch ends, the end
  assertEquals(calls.length, 1 + 4 + 2 + 1);
  assertEquals(calls.map((c) => c.update), [false, ...new Array(7).fill(true)]);
  assertEquals(new Set(calls.map((c) => c.id)).size, 1);
  disposeLearner(learn);
  model.dispose();
  disposeBatches(data);
});
