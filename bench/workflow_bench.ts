// What the workflow callbacks cost per training step: a plain fit against the same fit with
// one callback each (activationStats on every layer, tensorBoard, trackMemory,
// gradualUnfreeze after the whole model is unfrozen), on an MLP 784-256-10, batch 64.
// Variants run interleaved (a b c … a b c …) after a warm-up; medians of ms per step.
//
//   deno run -A bench/workflow_bench.ts [--backend wasm] [--reps 5] [--steps 40]
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import {
  batches,
  type Callback,
  crossEntropy,
  disposeLearner,
  fit,
  learner,
  useBackend,
} from "../mod.ts";
import { activationStats, gradualUnfreeze, tensorBoard, trackMemory } from "../callbacks/mod.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    backend: { type: "string", default: "wasm" },
    reps: { type: "string", default: "5" },
    steps: { type: "string", default: "40" },
  },
});
const info = await useBackend(flags.backend as "cpu" | "wasm" | "webgpu");
const reps = Number(flags.reps);
const steps = Number(flags.steps);
const BATCH = 64;
const x = tf.randomUniform([steps * BATCH, 784], 0, 1, "float32", 1);
const y = tf.randomUniform([steps * BATCH], 0, 10, "int32", 2);
const logDir = await Deno.makeTempDir();

const variants: [string, () => Callback[]][] = [
  ["plain fit", () => []],
  ["+ activationStats() (both layers, every batch)", () => [activationStats()]],
  ["+ tensorBoard() (flushEvery 32)", () => [tensorBoard({ logDir })]],
  ["+ trackMemory()", () => [trackMemory()]],
  ["+ gradualUnfreeze({ start: 2 }) (all groups trainable)", () => [gradualUnfreeze({ start: 2 })]],
];

async function once(callbacks: Callback[]): Promise<number> {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ units: 256, activation: "relu", inputShape: [784] }),
      tf.layers.dense({ units: 10 }),
    ],
  });
  const learn = learner({
    model,
    data: { train: batches(x, y, { batchSize: BATCH }) },
    loss: crossEntropy,
    layerGroups: { splitAt: [1] },
  });
  const t0 = performance.now();
  await fit(learn, 1, { lr: 1e-3, callbacks });
  const ms = (performance.now() - t0) / steps;
  disposeLearner(learn);
  model.dispose();
  return ms;
}

for (const [, make] of variants) await once(make()); // warm-up
const times = variants.map(() => [] as number[]);
for (let r = 0; r < reps; r++) {
  for (const [i, [, make]] of variants.entries()) times[i]!.push(await once(make()));
}
const median = (v: number[]): number => v.slice().sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const base = median(times[0]!);
console.log(`backend ${info.name}, ${steps} steps x ${reps} reps, median ms per step`);
for (const [i, [name]] of variants.entries()) {
  const m = median(times[i]!);
  console.log(`${name.padEnd(58)} ${m.toFixed(2).padStart(7)} ms  x${(m / base).toFixed(3)}`);
}
tf.dispose([x, y]);
await Deno.remove(logDir, { recursive: true });
