// `deno bench`: one Adam step over the weights of a 784-256-10 MLP, fitloop's `adam()`
// against `tf.train.adam().applyGradients`, with the same precomputed gradients.
// Backend: FITLOOP_BENCH_BACKEND (cpu by default; wasm is faster).
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { adam } from "../optim/adam.ts";
import { initOptimizer, optimizerStep } from "../optim/optimizer.ts";

tf.env().set("PROD", true);
await tf.setBackend(Deno.env.get("FITLOOP_BENCH_BACKEND") ?? "cpu");

const shapes = [[784, 256], [256], [256, 10], [10]];
const make = () => shapes.map((s) => tf.variable(tf.randomNormal(s, 0, 0.05, "float32", 1)));
const ours = make();
const theirs = make();
const params = ours.map((variable) => ({ variable, group: 0, decay: true }));
const grads = Object.fromEntries(
  ours.map((v, i) => [v.name, tf.randomNormal(shapes[i]!, 0, 1e-3)]),
);
const theirGrads = theirs.map((v, i) => ({ name: v.name, tensor: grads[ours[i]!.name]! }));
const opt = adam();
let state = initOptimizer(opt, params);
const hypers = [{ lr: 1e-3, mom: 0.9, sqrMom: 0.999, eps: 1e-7, wd: 0 }];
const tfAdam = tf.train.adam(1e-3, 0.9, 0.999, 1e-7);

Deno.bench(`fitloop adam() step, MLP 784-256-10 (${tf.getBackend()})`, {
  group: "adam",
  baseline: true,
}, async () => {
  state = optimizerStep(opt, params, grads, state, hypers);
  await ours[3]!.data();
});
Deno.bench(
  `tf.train.adam applyGradients, MLP 784-256-10 (${tf.getBackend()})`,
  { group: "adam" },
  async () => {
    tfAdam.applyGradients(theirGrads);
    await theirs[3]!.data();
  },
);
