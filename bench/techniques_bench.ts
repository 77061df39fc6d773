// What each modern technique costs per training step (issue 18): a plain fit against the
// same fit with one technique, interleaved (base, t1, t2, ..., base, t1, ...) after a
// warm-up, medians in ms per step and the median of the per-round ratios to the plain fit
// of the same round (robust to a machine whose speed drifts). The machine may be shared:
// the 1-minute load average is printed before and after.
//
// Workloads: an MLP 784-256-10 on 28x28x1 inputs (mlp) and the demo's CNN with a
// BatchNormalization layer (cnn), batch 64, Adam, one epoch of `--steps` batches per fit,
// no validation. Variants: labelSmoothingCrossEntropy (the loss), ema, swa (averaging from
// epoch 0, so one average per fit and, for the CNN, the BatchNorm pass at the end),
// lookahead(adam), sam, cutMix, and mixUp (fastai v1's, for reference: it mixes whole
// batches as cutMix mixes boxes).
//
// Part two (`--parts parts`) times each technique's own extra work per step in isolation,
// on the MLP's shapes, interleaved with the plain counterpart over `--iters` iterations:
// what is left of a "near zero" cost when a shared machine's noise hides it in a whole
// step. Each timed operation ends with an awaited read, as a step would.
//
// Flags: --backend cpu|wasm|webgpu (default wasm), --reps N (default 5), --steps N
// (default 20), --workloads mlp,cnn, --parts fits,parts (default both), --iters N
// (default 50), --json PATH.
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import {
  batches,
  type Callback,
  crossEntropy,
  disposeLearner,
  fit,
  learner,
  type TrainState,
  useBackend,
} from "../mod.ts";
import { cutMix, ema, labelSmoothingCrossEntropy, mixUp, sam, swa } from "../callbacks/mod.ts";
import { adam, initOptimizer, lookahead, type Optimizer, optimizerStep } from "../optim/mod.ts";
import { initialState, type LossFn } from "../core/mod.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    backend: { type: "string", default: "wasm" },
    reps: { type: "string", default: "5" },
    steps: { type: "string", default: "20" },
    workloads: { type: "string", default: "mlp,cnn" },
    parts: { type: "string", default: "fits,parts" },
    iters: { type: "string", default: "50" },
    json: { type: "string" },
  },
});
const info = await useBackend(flags.backend as "cpu" | "wasm" | "webgpu");
const reps = Number(flags.reps);
const steps = Number(flags.steps);
const BATCH = 64;

const workloads: Record<string, () => tf.LayersModel> = {
  mlp: () =>
    tf.sequential({
      layers: [
        tf.layers.flatten({ inputShape: [28, 28, 1] }),
        tf.layers.dense({ units: 256, activation: "relu" }),
        tf.layers.dense({ units: 10 }),
      ],
    }),
  cnn: () =>
    tf.sequential({
      layers: [
        tf.layers.conv2d({ filters: 16, kernelSize: 3, inputShape: [28, 28, 1] }),
        tf.layers.batchNormalization(),
        tf.layers.reLU(),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.conv2d({ filters: 32, kernelSize: 3, activation: "relu" }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 10 }),
      ],
    }),
};

interface Variant {
  readonly name: string;
  readonly loss?: LossFn;
  readonly optimizer?: () => Optimizer;
  readonly callbacks?: () => Callback[];
}

const VARIANTS: readonly Variant[] = [
  { name: "plain fit" },
  { name: "labelSmoothingCrossEntropy", loss: labelSmoothingCrossEntropy() },
  { name: "ema", callbacks: () => [ema()] },
  { name: "swa (from epoch 0)", callbacks: () => [swa({ startEpoch: 0, lr: 1e-3 })] },
  { name: "lookahead(adam)", optimizer: () => lookahead(adam()) },
  { name: "sam", callbacks: () => [sam()] },
  { name: "cutMix", callbacks: () => [cutMix()] },
  { name: "mixUp (reference)", callbacks: () => [mixUp()] },
];

const median = (xs: number[]): number => {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const load = (): string => Deno.loadavg().map((v) => v.toFixed(2)).join(", ");

async function bench(workload: string): Promise<Record<string, unknown>[]> {
  const n = steps * BATCH;
  const x = tf.randomUniform([n, 28, 28, 1], 0, 1, "float32", 1);
  const y = tf.randomUniform([n], 0, 10, "int32", 2);
  const once = async (v: Variant): Promise<{ ms: number; leaked: number }> => {
    const model = workloads[workload]!();
    const learn = learner({
      model,
      data: { train: batches(x, y, { batchSize: BATCH, shuffle: true }) },
      loss: v.loss ?? crossEntropy,
      optimizer: v.optimizer?.() ?? adam(),
    });
    const before = tf.memory().numTensors;
    const t0 = performance.now();
    await fit(learn, 1, { lr: 1e-3, callbacks: v.callbacks?.() ?? [] });
    const ms = (performance.now() - t0) / steps;
    disposeLearner(learn);
    const leaked = tf.memory().numTensors - before;
    model.dispose();
    return { ms, leaked };
  };
  for (const v of VARIANTS) await once(v); // warm-up
  const times = VARIANTS.map(() => [] as number[]);
  const ratios = VARIANTS.map(() => [] as number[]);
  let leaked = 0;
  for (let r = 0; r < reps; r++) {
    const round: number[] = [];
    for (const v of VARIANTS) {
      const t = await once(v);
      round.push(t.ms);
      leaked = Math.max(leaked, t.leaked);
    }
    round.forEach((ms, i) => (times[i]!.push(ms), ratios[i]!.push(ms / round[0]!)));
  }
  tf.dispose([x, y]);
  if (leaked !== 0) throw new Error(`a fit left ${leaked} tensors behind`);
  return VARIANTS.map((v, i) => ({
    workload,
    variant: v.name,
    msPerStep: median(times[i]!),
    ratio: median(ratios[i]!),
  }));
}

/** Median ms of `f` over `--iters` runs, interleaved with `g`: [f, g]. */
async function pair(
  f: () => Promise<void>,
  g: () => Promise<void>,
): Promise<[number, number]> {
  const iters = Number(flags.iters);
  const tf1: number[] = [];
  const tg: number[] = [];
  for (let i = 0; i < 5; i++) await f(), await g(); // warm-up
  for (let i = 0; i < iters; i++) {
    let t0 = performance.now();
    await f();
    tf1.push(performance.now() - t0);
    t0 = performance.now();
    await g();
    tg.push(performance.now() - t0);
  }
  return [median(tf1), median(tg)];
}

/** Each technique's own work per step, against what it replaces or adds to. */
async function parts(): Promise<Record<string, unknown>[]> {
  const model = workloads.mlp!();
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const x = tf.randomUniform([BATCH, 28, 28, 1], 0, 1, "float32", 3);
  const y = tf.randomUniform([BATCH], 0, 10, "int32", 4);
  const logits = tf.randomNormal([BATCH, 10], 0, 1, "float32", 5);
  const rows: Record<string, unknown>[] = [];
  const row = (what: string, [ms, base]: [number, number], against: string) => {
    rows.push({ part: what, ms, against, baseMs: base });
    console.log(
      `${what.padEnd(44)} ${ms.toFixed(3).padStart(8)} ms   (${against}: ${base.toFixed(3)} ms)`,
    );
  };
  const lossAndGrad = (loss: LossFn) => async () => {
    const g = tf.grad((l: tf.Tensor) => loss(l, y))(logits);
    await g.data();
    g.dispose();
  };
  row(
    "labelSmoothingCrossEntropy loss + gradient",
    await pair(lossAndGrad(labelSmoothingCrossEntropy()), lossAndGrad(crossEntropy)),
    "crossEntropy",
  );
  // ema: one update of the average of every weight (its whole per-step work)
  let avg: tf.Tensor[] = vars.map((v) => tf.clone(v));
  const emaUpdate = async () => {
    const next = tf.tidy(() =>
      avg.map((a, i) => tf.add(tf.mul(a, 0.999), tf.mul(vars[i]!, 0.001)))
    );
    tf.dispose(avg);
    avg = next;
    await avg[avg.length - 1]!.data();
  };
  // swa: one update of the running average (once per epoch, not per step)
  let n = 1;
  const swaUpdate = async () => {
    const next = tf.tidy(() => avg.map((a, i) => tf.add(a, tf.div(tf.sub(vars[i]!, a), ++n))));
    tf.dispose(avg);
    avg = next;
    await avg[avg.length - 1]!.data();
  };
  // the optimizer steps they compare with
  const params = vars.map((variable) => ({ variable, group: 0, decay: true }));
  const grads = Object.fromEntries(vars.map((v) => [v.name, tf.randomNormal(v.shape, 0, 1e-3)]));
  const hypers = [{ lr: 1e-4, mom: 0.9, sqrMom: 0.99, eps: 1e-7, wd: 0 }];
  const stepper = (opt: Optimizer) => {
    let state = initOptimizer(opt, params);
    return async () => {
      state = optimizerStep(opt, params, grads, state, hypers);
      await vars[vars.length - 1]!.data();
    };
  };
  const adamStep = stepper(adam());
  row("ema update (every weight)", await pair(emaUpdate, adamStep), "an adam step");
  row("swa average update (once per epoch)", await pair(swaUpdate, adamStep), "an adam step");
  row(
    "lookahead(adam, k 5) step (sync every 5th)",
    await pair(stepper(lookahead(adam())), adamStep),
    "an adam step",
  );
  // cutMix and mixUp: the hook's work on a batch of 64 images
  const base = {
    ...initialState({ nEpochs: 1, hypers, loss: crossEntropy }),
    lastInput: x,
    lastTarget: y,
  };
  const hook = (cb: Callback) => {
    let iteration = 0;
    return async () => {
      const s: TrainState = { ...base, iteration: iteration++ };
      const u = cb.onBatchBegin!(s, {}) as { lastInput: tf.Tensor; lastTarget: tf.Tensor };
      await u.lastInput.data();
      tf.dispose([u.lastInput, u.lastTarget]);
    };
  };
  row(
    "cutMix onBatchBegin (64 x 28 x 28 x 1)",
    await pair(hook(cutMix()), hook(mixUp())),
    "mixUp's",
  );
  tf.dispose([...avg, x, y, logits, ...Object.values(grads)]);
  model.dispose();
  return rows;
}

console.log(
  `backend ${info.name}, batch ${BATCH}, ${steps} steps a fit, ${reps} interleaved rounds; load ${load()}`,
);
const rows: Record<string, unknown>[] = [];
if (flags.parts.includes("fits")) {
  for (const w of flags.workloads.split(",")) {
    for (const row of await bench(w)) {
      rows.push(row);
      console.log(
        `${w.padEnd(4)} ${String(row.variant).padEnd(28)} ${
          (row.msPerStep as number).toFixed(1).padStart(8)
        } ms/step  ${(row.ratio as number).toFixed(3)} x plain`,
      );
    }
  }
}
if (flags.parts.includes("parts")) {
  console.log(
    `each technique's own work, medians of ${flags.iters} interleaved runs; load ${load()}`,
  );
  rows.push(...await parts());
}
console.log(`load after: ${load()}`);
if (flags.json) {
  await Deno.writeTextFile(flags.json, JSON.stringify({ info, load: load(), rows }, null, 2));
}
