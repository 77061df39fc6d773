// earlyStopping, reduceLROnPlateau and saveModel: stop epochs, lr sequences, saved and
// restored weights, with numbers.
import * as tf from "@tensorflow/tfjs";
import { assertAlmostEquals, assertEquals, assertRejects } from "@std/assert";
import type { Callback } from "../../core/callback.ts";
import { dryRun } from "../../core/dry_run.ts";
import { earlyStopping } from "../../callbacks/early_stopping.ts";
import { loadModelFrom } from "../../core/model_io.ts";
import { reduceLROnPlateau } from "../../callbacks/reduce_lr_on_plateau.ts";
import { saveModel } from "../../callbacks/save_model.ts";
import { fit } from "../../core/fit.ts";
import { disposeLearner, learner } from "../../core/learner.ts";
import { crossEntropy } from "../../core/losses.ts";
import { accuracy } from "../../core/metrics.ts";
import { blobs, disposeBatches, mlp, useCpu } from "../_helpers.ts";

await useCpu();

async function stopEpoch(
  cb: Callback,
  validLosses: number[],
  metrics = {},
): Promise<number | undefined> {
  const run = await dryRun([cb], {
    epochs: validLosses.length,
    batchesPerEpoch: 2,
    validLosses,
    metrics,
  });
  return run.stoppedAt?.epoch;
}

Deno.test("earlyStopping() stops at the end of the (patience + 1)-th epoch without improvement", async () => {
  const losses = [1.0, 0.9, 0.8, 0.85, 0.84, 0.83, 0.7, 0.9, 0.95, 0.99];
  assertEquals(await stopEpoch(earlyStopping(), losses), 3);
  assertEquals(await stopEpoch(earlyStopping({ patience: 2 }), losses), 5);
  assertEquals(await stopEpoch(earlyStopping({ patience: 3 }), [...losses, 1]), 10);
  // minDelta: 0.9 and 0.8 improve by more than 0.05, 0.85... do not
  assertEquals(await stopEpoch(earlyStopping({ minDelta: 0.15 }), losses), 1);
  assertEquals(await stopEpoch(earlyStopping({ patience: 10 }), losses), undefined);
});

Deno.test("earlyStopping() monitors metrics by name, 'max' by default for non-loss names", async () => {
  const acc = { accuracy: [0.5, 0.7, 0.69, 0.72, 0.71, 0.70] };
  assertEquals(await stopEpoch(earlyStopping({ monitor: "accuracy" }), [1, 1, 1, 1, 1, 1], acc), 2);
  assertEquals(
    await stopEpoch(earlyStopping({ monitor: "accuracy", patience: 1 }), [1, 1, 1, 1, 1, 1], acc),
    5,
  );
  // refused when the fit starts, before any epoch runs
  await assertRejects(
    () => stopEpoch(earlyStopping({ monitor: "f1" }), [1, 1], acc),
    RangeError,
    "callback 'earlyStopping' monitors 'f1', which is not a metric of this fit: metrics are " +
      "trainLoss, validLoss, accuracy",
  );
});

Deno.test("a tracker can monitor a metric that an earlier callback adds in onEpochEnd", async () => {
  const doubled: Callback = {
    name: "doubled",
    order: -1,
    addsMetrics: ["double"],
    onEpochEnd: (s) => ({
      lastMetrics: [...s.lastMetrics, s.lastMetrics[0]! * 2],
      metricNames: [...s.metricNames, "double"],
    }),
  };
  const run = await dryRun([doubled, earlyStopping({ monitor: "double", mode: "min" })], {
    epochs: 5,
    batchesPerEpoch: 1,
    validLosses: [1, 0.5, 0.6, 0.4, 0.3],
  });
  assertEquals(run.stoppedAt?.epoch, 2);
  assertEquals(run.history.metricNames, ["double"]);
});

Deno.test("reduceLROnPlateau() multiplies every group's lr after more than patience flat epochs", async () => {
  const losses = [1, 0.9, 0.95, 0.96, 0.97, 0.8, 0.85, 0.86, 0.87, 0.88];
  const h = (lr: number) => ({ lr, mom: 0.9, sqrMom: 0.99, eps: 1e-7, wd: 0 });
  const run = await dryRun([reduceLROnPlateau({ patience: 1, factor: 0.5 })], {
    epochs: losses.length,
    batchesPerEpoch: 1,
    validLosses: losses,
    hypers: [h(0.01), h(0.1)],
  });
  // reductions at the end of epochs 3 (2nd flat epoch), 7 and 9
  const perEpoch = run.hypers.map((g) => g.map((x) => x.lr));
  assertEquals(perEpoch.map((g) => g[1]), [
    0.1,
    0.1,
    0.1,
    0.1,
    0.05,
    0.05,
    0.05,
    0.05,
    0.025,
    0.025,
  ]);
  assertEquals(perEpoch.map((g) => g[0]), [
    0.01,
    0.01,
    0.01,
    0.01,
    0.005,
    0.005,
    0.005,
    0.005,
    0.0025,
    0.0025,
  ]);
  assertAlmostEquals(run.state.hypers[0]!.lr, 0.00125, 1e-15); // minLr gates, it is no floor
  assertEquals(run.state.hypers[1]!.lr, 0.0125);
  assertEquals((run.state.memory.reduceLROnPlateau as { reducedAt: number[] }).reducedAt, [
    3,
    7,
    9,
  ]);
});

Deno.test("earlyStopping({ restoreBest }) puts back the best epoch's weights, leaking nothing", async () => {
  const train = blobs(96, 51);
  const valid = blobs(64, 52);
  const model = mlp(9);
  const learn = learner({ model, data: { train, valid }, loss: crossEntropy, metrics: [accuracy] });
  const snapshots: Float32Array[] = [];
  const watch: Callback = {
    name: "watch",
    onEpochEnd: async () =>
      void snapshots.push((await model.getWeights()[0]!.data()) as Float32Array),
  };
  // Make epochs 2 and 3 look worse through a callback that overrides validLoss.
  const fake: Callback = {
    name: "fake",
    order: -1,
    onEpochEnd: (s) => ({
      lastMetrics: [[0.5, 0.4, 0.6, 0.7][s.epoch]!, ...s.lastMetrics.slice(1)],
    }),
  };
  const before = tf.memory().numTensors;
  const { state } = await fit(learn, 4, {
    lr: 0.05,
    callbacks: [fake, watch, earlyStopping({ patience: 5, restoreBest: true })],
  });
  assertEquals((state.memory.earlyStopping as { bestEpoch: number }).bestEpoch, 1);
  assertEquals(await model.getWeights()[0]!.data(), snapshots[1]);
  disposeLearner(learn);
  assertEquals(tf.memory().numTensors, before);
  disposeBatches(train, valid);
  model.dispose();
});

Deno.test("saveModel() saves on improvement and loads the best weights back at the end, also after an error", async () => {
  const dir = await Deno.makeTempDir();
  const train = blobs(96, 53);
  const valid = blobs(64, 54);
  const model = mlp(11);
  const learn = learner({ model, data: { train, valid }, loss: crossEntropy });
  const snapshots: Float32Array[] = [];
  const watch: Callback = {
    name: "watch",
    onEpochEnd: async () =>
      void snapshots.push((await model.getWeights()[2]!.data()) as Float32Array),
  };
  const fake: Callback = {
    name: "fake",
    order: -1,
    onEpochEnd: (s) => ({ lastMetrics: [[0.5, 0.3, 0.6][s.epoch]!] }),
  };
  const boom = new Error("boom at epoch 3");
  const bomb: Callback = {
    name: "bomb",
    onEpochBegin: (s) => {
      if (s.epoch === 3) throw boom;
    },
  };
  const error = await assertRejects(() =>
    fit(learn, 5, { lr: 0.05, callbacks: [fake, watch, bomb, saveModel({ dir: `${dir}/best` })] })
  );
  assertEquals(error, boom);
  assertEquals(await model.getWeights()[2]!.data(), snapshots[1]);
  const reloaded = await loadModelFrom(`${dir}/best`);
  assertEquals(await reloaded.getWeights()[2]!.data(), snapshots[1]);
  reloaded.dispose();
  await fit(learn, 2, { callbacks: [saveModel({ dir, every: "epoch" })] });
  assertEquals((await Deno.stat(`${dir}/epoch_1/weights.bin`)).isFile, true);
  disposeLearner(learn);
  disposeBatches(train, valid);
  model.dispose();
  await Deno.remove(dir, { recursive: true });
});
