// A user-written callback in about 20 lines: log the global gradient norm of each batch,
// and keep the largest seen in the callback's memory (in the state, not in a closure).
// Run: deno run -A examples/custom_callback.ts
import * as tf from "@tensorflow/tfjs";
import { batches, type Callback, crossEntropy, fit, learner } from "../mod.ts";
import { globalNorm } from "../optim/mod.ts";

const gradNormLogger: Callback = {
  name: "gradNorm",
  needsLoss: false,
  async onBackwardEnd(s) {
    if (!s.grads) return;
    const norm = globalNorm(s.grads);
    const value = (await norm.data())[0]!; // one read per batch: fine for a diagnostic
    norm.dispose();
    const max = Math.max(value, (s.memory.gradNorm as { max?: number } | undefined)?.max ?? 0);
    if (s.iteration % 10 === 0) console.log(`batch ${s.iteration}: |g| = ${value.toFixed(4)}`);
    return { memory: { max } };
  },
};

tf.env().set("PROD", true);
await tf.setBackend("cpu");
const x = tf.randomNormal([640, 2], 0, 1, "float32", 7);
const y = tf.tidy(() => tf.cast(tf.greater(tf.sum(x, 1), 0), "int32"));
const model = tf.sequential({
  layers: [
    tf.layers.dense({ units: 16, inputShape: [2], activation: "relu" }),
    tf.layers.dense({ units: 2 }),
  ],
});
const learn = learner({
  model,
  data: { train: batches(x, y, { batchSize: 32, shuffle: true }) },
  loss: crossEntropy,
});
const { state } = await fit(learn, 2, { lr: 1e-2, callbacks: [gradNormLogger] });
console.log(`largest gradient norm: ${(state.memory.gradNorm as { max: number }).max.toFixed(4)}`);
