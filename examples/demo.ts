// `deno task demo`: trains a small MLP on a synthetic two-spirals problem end to end and
// prints one line per epoch. (The MNIST job replaces this once the callback library and
// the WASM training kernels land.)
import * as tf from "@tensorflow/tfjs";
import { accuracy, batches, crossEntropy, disposeLearner, fit, learner } from "../mod.ts";
import type { Callback } from "../mod.ts";

tf.env().set("PROD", true);
await tf.setBackend("cpu");

function spirals(n: number, seed: number): { x: tf.Tensor2D; y: tf.Tensor1D } {
  let a = seed >>> 0;
  const rand = () => ((a = (a * 1664525 + 1013904223) >>> 0) / 4294967296);
  const xs = new Float32Array(n * 2);
  const ys = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const cls = i % 2;
    const r = rand() * 3 + 0.2;
    const t = r * 2.5 + cls * Math.PI;
    xs[2 * i] = r * Math.cos(t) + (rand() - 0.5) * 0.2;
    xs[2 * i + 1] = r * Math.sin(t) + (rand() - 0.5) * 0.2;
    ys[i] = cls;
  }
  return { x: tf.tensor2d(xs, [n, 2]), y: tf.tensor1d(ys, "int32") };
}

const train = spirals(2000, 1);
const valid = spirals(500, 2);
const model = tf.sequential({
  layers: [
    tf.layers.dense({ units: 64, inputShape: [2], activation: "relu" }),
    tf.layers.dense({ units: 64, activation: "relu" }),
    tf.layers.dense({ units: 2 }),
  ],
});
const started = performance.now();
const printer: Callback = {
  name: "printer",
  order: 2000,
  onEpochEnd(s) {
    const [validLoss, acc] = s.lastMetrics;
    const secs = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `epoch ${s.epoch + 1}/${s.nEpochs}  train_loss ${s.smoothLoss.toFixed(4)}  ` +
        `valid_loss ${validLoss!.toFixed(4)}  accuracy ${acc!.toFixed(4)}  ${secs}s`,
    );
  },
};
const learn = learner({
  model,
  data: {
    train: batches(train.x, train.y, { batchSize: 64, shuffle: true, seed: 0 }),
    valid: batches(valid.x, valid.y, { batchSize: 256 }),
  },
  loss: crossEntropy,
  metrics: [accuracy],
  callbacks: [printer],
});
console.log(`fitloop demo: two spirals, MLP 2-64-64-2, backend ${tf.getBackend()}`);
const { state } = await fit(learn, 12, { lr: 1e-2 });
console.log(`final validation accuracy ${(state.lastMetrics[1]! * 100).toFixed(1)}%`);
disposeLearner(learn);
tf.dispose([train.x, train.y, valid.x, valid.y]);
model.dispose();
