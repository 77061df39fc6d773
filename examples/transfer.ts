// Transfer learning, fastai's routine: a CNN body trained on one task (digits 0-4) is
// reused for another (digits 5-9) with a new head. First the head trains on the frozen
// body (the body's weights stay bit for bit), then everything trains with discriminative
// learning rates (lrRange: small for the first layers, larger for the head). Ends with an
// interpretation of the classifier: confusion matrix, most confused pairs, top losses.
//
//   deno run -A examples/transfer.ts [--samples 6000] [--epochs 2] [--out runs/transfer-…]
//
// Leaves in the output directory: summary.txt (model summary), history.csv and
// history_unfrozen.csv (one per phase), confusion.svg, top_losses.svg, activations.svg and
// TensorBoard event files in tb/.
import * as tf from "@tensorflow/tfjs";
import {
  accuracy,
  batches,
  crossEntropy,
  disposeLearner,
  fit,
  fitOneCycle,
  freeze,
  interpret,
  learner,
  lrRange,
  plotConfusion,
  plotTopLosses,
  unfreeze,
  useBackend,
} from "../mod.ts";
import {
  activationStats,
  activationStatsOf,
  csvLogger,
  modelSummary,
  plotActivationStats,
  tensorBoard,
  trackMemory,
} from "../callbacks/mod.ts";
import { type Digits, loadMnist } from "./mnist_data.ts";

/** The layers shared by both tasks (names fixed, so that weights copy by name). */
function cnn(head: string, seed: number): tf.Sequential {
  const init = (s: number) => tf.initializers.heNormal({ seed: seed * 10 + s });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [28, 28, 1],
        filters: 8,
        kernelSize: 3,
        activation: "relu",
        kernelInitializer: init(1),
        name: `${head}_conv1`,
      }),
      tf.layers.maxPooling2d({ poolSize: 2, name: `${head}_pool1` }),
      tf.layers.conv2d({
        filters: 16,
        kernelSize: 3,
        activation: "relu",
        kernelInitializer: init(2),
        name: `${head}_conv2`,
      }),
      tf.layers.maxPooling2d({ poolSize: 2, name: `${head}_pool2` }),
      tf.layers.flatten({ name: `${head}_flat` }),
      tf.layers.dense({
        units: 5,
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed * 10 + 3 }),
        name: `${head}_head`,
      }),
    ],
  });
}

/** The digits of classes `from` to `from + 4`, relabelled 0-4. */
function subset(d: Digits, from: number): { x: tf.Tensor; y: tf.Tensor; n: number } {
  const keep: number[] = [];
  d.labels.forEach((l, i) => l >= from && l < from + 5 && keep.push(i));
  const images = new Float32Array(keep.length * 784);
  keep.forEach((i, k) => images.set(d.images.subarray(i * 784, (i + 1) * 784), k * 784));
  return {
    x: tf.tensor4d(images, [keep.length, 28, 28, 1]),
    y: tf.tensor1d(keep.map((i) => d.labels[i]! - from), "int32"),
    n: keep.length,
  };
}

function flag(args: readonly string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
}

/** What the example reports. */
export interface TransferSummary {
  /** Accuracy on the target task after training the head on the frozen body. */
  readonly frozenAccuracy: number;
  /** Accuracy after unfreezing and training everything. */
  readonly finalAccuracy: number;
  /** Whether the body's weights were bit-identical after the frozen phase. */
  readonly bodyUnchanged: boolean;
  /** The most confused pair of the final model (actual → predicted, count). */
  readonly mostConfused: string;
}

/** Runs the example; returns its summary. */
export async function main(args: readonly string[], log = console.log): Promise<TransferSummary> {
  const samples = Number(flag(args, "samples", "6000"));
  const epochs = Number(flag(args, "epochs", "2"));
  const out = flag(args, "out", `runs/transfer-${new Date().toISOString().replace(/[:.]/g, "-")}`);
  const backend = await useBackend(flag(args, "backend", "auto") as "auto");
  log(`backend: ${backend.name}`);
  await Deno.mkdir(out, { recursive: true });
  const data = loadMnist({ seed: 1, samples });
  const [srcTrain, srcValid] = [subset(data.train, 0), subset(data.valid, 0)];
  const [dstTrain, dstValid] = [subset(data.train, 5), subset(data.valid, 5)];
  log(`source task: digits 0-4 (${srcTrain.n} digits); target task: digits 5-9 (${dstTrain.n})`);

  // 1. the body learns on the source task
  const source = cnn("src", 1);
  const pre = learner({
    model: source,
    data: { train: batches(srcTrain.x, srcTrain.y, { batchSize: 64, shuffle: true }) },
    loss: crossEntropy,
  });
  await fitOneCycle(pre, epochs, { lrMax: 3e-3 });
  disposeLearner(pre);

  // 2. a new model for the target task: the source's body, a new head
  const target = cnn("dst", 2);
  target.layers.forEach((layer, i) => {
    if (i < 4) layer.setWeights(source.layers[i]!.getWeights());
  });
  source.dispose();
  const learn = learner({
    model: target,
    data: {
      train: batches(dstTrain.x, dstTrain.y, { batchSize: 64, shuffle: true }),
      valid: batches(dstValid.x, dstValid.y, { batchSize: 500 }),
    },
    loss: crossEntropy,
    metrics: [accuracy],
    layerGroups: { splitAt: [2, 5] }, // conv1 · conv2 · head
  });

  // 3. the head alone, on the frozen body
  freeze(learn);
  log(modelSummary(learn).text);
  await Deno.writeTextFile(`${out}/summary.txt`, modelSummary(learn).text);
  const body = await Promise.all(target.layers[2]!.getWeights().map((w) => w.data()));
  const frozen = await fitOneCycle(learn, epochs, {
    lrMax: 1e-2,
    callbacks: [csvLogger({ path: `${out}/history.csv` })],
  });
  const bodyAfter = await Promise.all(target.layers[2]!.getWeights().map((w) => w.data()));
  const bodyUnchanged = body.every((w, i) => w.every((v, j) => Object.is(v, bodyAfter[i]![j])));
  const frozenAccuracy = frozen.history.metrics.at(-1)![0]!;
  log(
    `head on the frozen body: accuracy ${
      frozenAccuracy.toFixed(4)
    }, body unchanged: ${bodyUnchanged}`,
  );

  // 4. everything, with discriminative learning rates: 1e-4 · 1e-3 · 1e-2
  unfreeze(learn);
  const all = await fit(learn, epochs, {
    lr: lrRange(1e-4, 1e-2),
    callbacks: [
      csvLogger({ path: `${out}/history_unfrozen.csv` }), // more columns: trackMemory's
      activationStats({ layers: ["dst_conv1", "dst_conv2", "dst_head"], every: 4 }),
      trackMemory(),
      tensorBoard({ logDir: `${out}/tb` }),
    ],
  });
  const finalAccuracy = all.history.metrics.at(-1)![0]!;
  log(`unfrozen, lrs 1e-4…1e-2: accuracy ${finalAccuracy.toFixed(4)}`);
  await Deno.writeTextFile(
    `${out}/activations.svg`,
    plotActivationStats(activationStatsOf(all.state)).svg,
  );

  // 5. how the classifier errs
  const interp = await interpret(learn, { classes: ["5", "6", "7", "8", "9"] });
  await Deno.writeTextFile(`${out}/confusion.svg`, plotConfusion(interp).svg);
  await Deno.writeTextFile(`${out}/top_losses.svg`, plotTopLosses(interp).svg);
  const worst = interp.mostConfused[0];
  const mostConfused = worst ? `${worst.actual} → ${worst.predicted} (${worst.count})` : "none";
  log(`most confused: ${mostConfused}; pictures in ${out}`);

  disposeLearner(learn);
  target.dispose();
  tf.dispose([
    srcTrain.x,
    srcTrain.y,
    srcValid.x,
    srcValid.y,
    dstTrain.x,
    dstTrain.y,
    dstValid.x,
    dstValid.y,
  ]);
  return { frozenAccuracy, finalAccuracy, bodyUnchanged, mostConfused };
}

if (import.meta.main) await main(Deno.args);
