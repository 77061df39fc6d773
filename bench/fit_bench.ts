// `deno task bench` (first part): fitloop against tfjs's own model.fit and a hand-written
// loop, side by side in one process, on one backend at a time.
//
//   (a) floor:   a hand loop, tf.train.adam().minimize over gather-ed batches, one loss
//                read per batch;
//   (b) peer:    model.fit on the same model, data, batch size and optimizer;
//   (c) fitloop: fit with the recorder, oneCycle, an accuracy metric and progressBar
//                writing to a null stream.
//
// Workloads: an MLP 784-256-10 and the demo's CNN on 28x28x1 inputs, batch 64. After a
// warm-up, the three run interleaved (a b c a b c ...) and the medians over the
// repetitions are reported in ms per training step. No variant validates (so (c)'s
// accuracy metric is configured but has no validation set to run on).
//
// Flags: --backend cpu|wasm|webgpu (default wasm), --reps N (default 5),
//        --steps N (training steps per repetition), --workloads mlp,cnn, --json PATH.
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import {
  accuracy,
  batches,
  crossEntropy,
  disposeLearner,
  fit,
  learner,
  oneCycle,
  progressBar,
  useBackend,
} from "../mod.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    backend: { type: "string", default: "wasm" },
    reps: { type: "string", default: "5" },
    steps: { type: "string" },
    workloads: { type: "string", default: "mlp,cnn" },
    json: { type: "string" },
  },
});
const info = await useBackend(flags.backend as "cpu" | "wasm" | "webgpu");
const reps = Number(flags.reps);
const BATCH = 64;

function mlp(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [28, 28, 1] }),
      tf.layers.dense({ units: 256, activation: "relu" }),
      tf.layers.dense({ units: 10 }),
    ],
  });
}

function cnn(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ filters: 16, kernelSize: 3, activation: "relu", inputShape: [28, 28, 1] }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 32, kernelSize: 3, activation: "relu" }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10 }),
    ],
  });
}

const median = (xs: number[]): number => {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const nullStream = { write: (_: string) => {}, isTerminal: () => false };

interface Row {
  workload: string;
  backend: string;
  hand: number;
  modelFit: number;
  fitloop: number;
  memory: { tensorsAfter1: number; tensorsAfter5: number; heapAfter1: number; heapAfter5: number };
}

async function run(name: string, make: () => tf.LayersModel, defaultSteps: number): Promise<Row> {
  const steps = Number(flags.steps ?? defaultSteps);
  const n = steps * BATCH;
  const x = tf.randomUniform([n, 28, 28, 1], 0, 1, "float32", 1);
  const y = tf.randomUniform([n], 0, 10, "int32", 2);
  const yOneHot = tf.oneHot(y, 10);

  // (a) the floor: a hand loop over gather-ed batches, one loss read per batch
  const handModel = make();
  const handOpt = tf.train.adam(1e-3);
  const order = Int32Array.from(tf.util.createShuffledIndices(n));
  const hand = async (): Promise<number> => {
    const t0 = performance.now();
    for (let s = 0; s < steps; s++) {
      const idx = tf.tensor1d(order.slice(s * BATCH, (s + 1) * BATCH), "int32");
      const xb = tf.gather(x, idx);
      const yb = tf.gather(y, idx);
      const loss = handOpt.minimize(
        () => crossEntropy(handModel.apply(xb, { training: true }) as tf.Tensor, yb),
        true,
      )!;
      await loss.data();
      tf.dispose([idx, xb, yb, loss]);
    }
    return (performance.now() - t0) / steps;
  };

  // (b) the peer: tfjs-layers' model.fit
  const peerModel = make();
  const peerLoss = (yTrue: tf.Tensor, yPred: tf.Tensor) => crossEntropy(yPred, yTrue);
  peerModel.compile({ optimizer: tf.train.adam(1e-3), loss: peerLoss });
  const peer = async (): Promise<number> => {
    const t0 = performance.now();
    await peerModel.fit(x, yOneHot, { batchSize: BATCH, epochs: 1, shuffle: true, verbose: 0 });
    return (performance.now() - t0) / steps;
  };

  // (c) fitloop
  const ourModel = make();
  const learn = learner({
    model: ourModel,
    data: { train: batches(x, y, { batchSize: BATCH, shuffle: true }) },
    loss: crossEntropy,
    metrics: [accuracy],
  });
  const ours = async (epochs = 1): Promise<number> => {
    const t0 = performance.now();
    await fit(learn, epochs, {
      callbacks: [oneCycle({ lrMax: 1e-3 }), progressBar({ stream: nullStream })],
    });
    return (performance.now() - t0) / (steps * epochs);
  };

  await hand();
  await peer();
  await ours(); // warm-up
  const times = { hand: [] as number[], modelFit: [] as number[], fitloop: [] as number[] };
  for (let r = 0; r < reps; r++) {
    times.hand.push(await hand());
    times.modelFit.push(await peer());
    times.fitloop.push(await ours());
  }
  // memory: tensors and heap after 1 and after 5 epochs of (c), after a full GC when
  // the V8 flag --expose-gc is given (as `deno task bench` does)
  const gc = (globalThis as { gc?: () => void }).gc;
  await ours(1);
  gc?.();
  const tensorsAfter1 = tf.memory().numTensors;
  const heapAfter1 = Deno.memoryUsage().heapUsed;
  await ours(5);
  gc?.();
  const tensorsAfter5 = tf.memory().numTensors;
  const heapAfter5 = Deno.memoryUsage().heapUsed;

  disposeLearner(learn);
  handOpt.dispose();
  tf.dispose([x, y, yOneHot]);
  for (const m of [handModel, peerModel, ourModel]) m.dispose();
  return {
    workload: name,
    backend: info.name,
    hand: median(times.hand),
    modelFit: median(times.modelFit),
    fitloop: median(times.fitloop),
    memory: { tensorsAfter1, tensorsAfter5, heapAfter1, heapAfter5 },
  };
}

const defaults: Record<string, number> = info.name === "cpu"
  ? { mlp: 10, cnn: 2 }
  : info.name === "webgpu"
  ? { mlp: 20, cnn: 10 }
  : { mlp: 20, cnn: 10 };
const rows: Row[] = [];
console.log(`backend ${info.name} (${info.reason}), batch ${BATCH}, ${reps} repetitions, medians`);
console.log(
  "workload  hand loop  model.fit  fitloop   fitloop/hand  fitloop/model.fit  tensors 1->5 ep  heap 1->5 ep (MB)",
);
for (const w of flags.workloads.split(",")) {
  const row = await run(w, w === "cnn" ? cnn : mlp, defaults[w] ?? 10);
  rows.push(row);
  const f = (v: number) => `${v.toFixed(1)} ms`.padEnd(10);
  const mb = (v: number) => (v / 2 ** 20).toFixed(1);
  console.log(
    `${w.padEnd(9)} ${f(row.hand)} ${f(row.modelFit)} ${f(row.fitloop)} ${
      (row.fitloop / row.hand).toFixed(3).padEnd(13)
    } ${
      (row.fitloop / row.modelFit).toFixed(3).padEnd(18)
    } ${row.memory.tensorsAfter1} -> ${row.memory.tensorsAfter5}`.padEnd(
      110,
    ) + `  ${mb(row.memory.heapAfter1)} -> ${mb(row.memory.heapAfter5)}`,
  );
}
if (flags.json) await Deno.writeTextFile(flags.json, JSON.stringify({ info, rows }, null, 2));
