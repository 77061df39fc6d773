import * as tf from "@tensorflow/tfjs";
import { assert, assertAlmostEquals, assertEquals } from "@std/assert";
import { dryRun } from "../../core/dry_run.ts";
import { lrFind, lrFinder, type LrFinderMemory, lrSuggestions } from "../../callbacks/lr_finder.ts";
import { logToArray } from "../../core/log.ts";
import { _modelVariables } from "../../core/_weights.ts";
import { fit } from "../../core/fit.ts";
import { disposeLearner, learner } from "../../core/learner.ts";
import { crossEntropy } from "../../core/losses.ts";
import { exportOptimizerState } from "../../optim/optimizer.ts";
import { blobs, disposeBatches, useCpu } from "../_helpers.ts";

await useCpu();

Deno.test("lrFinder() grows the lr exponentially and stops when the smoothed loss passes 4x its best", async () => {
  const losses = [2, 1.5, 1, 0.8, 0.7, 0.9, 2, 5, 20, 100, 1000, 1e4];
  // the smoothed losses (beta 0.98, debiased), computed by hand in float64:
  const smoothed = [
    2,
    1.7474747474747,
    1.4932662222827,
    1.3146626435751,
    1.1867134884816,
    1.1364823272763, // the best
    1.2674428830204,
    1.7676616869057,
    3.9609961703028, // < 4 * 1.13648 = 4.54593: go on
    14.461239703877, // > 4.54593: stop after this batch (index 9)
  ];
  const stop = 9;
  const run = await dryRun([lrFinder({ startLr: 1e-6, endLr: 1, numIt: 50 })], {
    epochs: 1,
    batchesPerEpoch: losses.length,
    losses,
  });
  assertEquals(run.history.lrs.length, stop + 1);
  const memory = run.state.memory.lrFinder as LrFinderMemory;
  logToArray(memory.losses).forEach((l, i) => assertAlmostEquals(l, smoothed[i]!, 1e-9));
  assertAlmostEquals(memory.best, smoothed[5]!, 1e-9);
  run.history.lrs.forEach((lr, i) => assertAlmostEquals(lr / (1e-6 * 1e6 ** (i / 50)), 1, 1e-12));
  assertEquals(run.stoppedAt, { epoch: 0, iteration: stop + 1 });
  assert(Number.isNaN(run.state.lastMetrics[0]!)); // never validates
  const noDiv = await dryRun([lrFinder({ numIt: 8, stopDiv: false })], {
    epochs: 1,
    batchesPerEpoch: losses.length,
    losses,
  });
  assertEquals(noDiv.history.lrs.length, 8);
});

Deno.test("lrFinder() stops on a NaN loss", async () => {
  const run = await dryRun([lrFinder({ numIt: 50 })], {
    epochs: 1,
    batchesPerEpoch: 10,
    losses: [1, 0.9, NaN, 0.5],
  });
  assertEquals(run.history.lrs.length, 3);
});

Deno.test("lrSuggestions() gives steepest descent, min loss / 10 and valley", () => {
  const lrs = Array.from({ length: 30 }, (_, i) => 10 ** (-6 + i / 5));
  const losses = lrs.map((_, i) => (i < 20 ? 2 - 0.005 * i * i : 0 + (i - 20) ** 2));
  const s = lrSuggestions(lrs, losses, { skipStart: 0, skipEnd: 0 });
  // the loss falls fastest just before its minimum at index 20 (gradient of -0.195 at 19)
  assertEquals(s.steepest, lrs[19]);
  assertEquals(s.minLossDiv10, lrs[20]! / 10);
  // fastai v2's valley: the longest decreasing run is 0..20 (21 points), so maxStart = -1,
  // sections = 21 / 3 = 7 and the index is -1 + 7 + floor(3.5) = 9
  assertEquals(s.valley, lrs[9]);
});

Deno.test("lrFind() restores weights (batch-norm statistics too) and optimizer state bit for bit", async () => {
  const train = blobs(256, 61);
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ units: 16, inputShape: [2], activation: "relu" }),
      tf.layers.batchNormalization(),
      tf.layers.dropout({ rate: 0.1 }),
      tf.layers.dense({ units: 2 }),
    ],
  });
  const learn = learner({ model, data: { train }, loss: crossEntropy });
  await fit(learn, 1); // the optimizer now has moments to protect
  const weightsBefore = await Promise.all(_modelVariables(model).map((v) => v.data()));
  const optBefore = await exportOptimizerState(learn.optState!);
  const tensorsBefore = tf.memory().numTensors;
  const found = await lrFind(learn, { numIt: 30, startLr: 1e-5, endLr: 10 });
  assertEquals(tf.memory().numTensors, tensorsBefore);
  const weightsAfter = await Promise.all(_modelVariables(model).map((v) => v.data()));
  assertEquals(weightsAfter, weightsBefore);
  assertEquals(await exportOptimizerState(learn.optState!), optBefore);
  assert(found.lrs.length >= 10 && found.lrs.length <= 30);
  assertEquals(found.losses.length, found.lrs.length);
  for (const lr of Object.values(found.suggestions)) {
    assert(lr >= 1e-6 && lr <= 10, `suggestion ${lr}`);
  }
  disposeLearner(learn);
  disposeBatches(train);
  model.dispose();
});

Deno.test("lrFind() on a fresh learner leaves no optimizer state and no tensors behind", async () => {
  const train = blobs(128, 62);
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [2] })] });
  const learn = learner({ model, data: { train }, loss: crossEntropy });
  const before = tf.memory().numTensors;
  await lrFind(learn, { numIt: 10 });
  assertEquals(learn.optState, undefined);
  assertEquals(tf.memory().numTensors, before);
  disposeBatches(train);
  model.dispose();
});

Deno.test("lrFinder() keeps the ratios between layer groups' learning rates", async () => {
  const h = (lr: number) => ({ lr, mom: 0.9, sqrMom: 0.99, eps: 1e-7, wd: 0 });
  const run = await dryRun([lrFinder({ startLr: 1e-4, endLr: 1, numIt: 4 })], {
    epochs: 1,
    batchesPerEpoch: 4,
    hypers: [h(0.01), h(0.1)],
  });
  assertEquals(run.hypers.length, 4);
  run.hypers.forEach((g) => assertAlmostEquals(g[0]!.lr / g[1]!.lr, 0.1, 1e-12));
  assertAlmostEquals(run.hypers[0]![1]!.lr, 1e-4, 1e-15);
  assertAlmostEquals(run.history.lrs[2]!, 1e-2, 1e-14);
});
