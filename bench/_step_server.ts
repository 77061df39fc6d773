// One process of `deno task bench` (bench/fit_bench.ts starts several and interleaves
// them): a backend configuration (fitloop's WASM kernels or tfjs-wasm's own, a thread
// count), the bench's workloads, and a loop that answers the orchestrator's commands on
// stdin with JSON lines on stdout.
//
//   deno run -A --v8-flags=--expose-gc bench/_step_server.ts
//       --backend wasm|cpu|webgpu --kernels fitloop|tfjs|pregemm --threads N
//
// Commands (one JSON object per line):
//   {"cmd":"step","workload":"mlp"|"cnn","variant":"fit"|"hand"|"modelFit","steps":S}
//       -> {"ms": ms per training step over one epoch of S steps}
//   {"cmd":"kernels","reps":R}  -> {"rows": [...]}  per-kernel times, fitloop's and tfjs's
//   {"cmd":"memory","workload":…,"steps":S} -> tensors and heap after 1 and after 5 epochs
//   {"cmd":"quit"}
// First line out: {"ready":true,"info":BackendInfo}.
//
// Variants: "hand" is a hand loop doing the same tensor work as fit (tf.variableGrads,
// fitloop's Adam via optimizerStep, over gather-ed batches, one loss read per batch);
// "modelFit" is tfjs-layers' model.fit (with tf.train.adam); "fit" is fitloop's fit with
// the recorder, oneCycle, an accuracy metric and progressBar to a null stream.
// With --kernels tfjs the process never registers fitloop's replacements (fitloop's fit
// would, so it offers only "hand" and "modelFit"; the CNN still needs the kernels tfjs
// lacks, which are added). With --kernels pregemm the process has fitloop's kernels but
// the matrix products fitloop ran before its SIMD GEMM (a transposed operand transposed
// in memory, then XNNPACK; tfjs's own _FusedMatMul): it offers only "hand" too (fit
// would register the GEMM again).
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { type BackendInfo, useBackend } from "../backend/use_backend.ts";
import { registerWasmTrainingKernels } from "../backend/wasm_kernels.ts";
import { _callTfjs, type KernelArgs } from "../backend/_wasm.ts";
import { _transposeThenXnnpack } from "../backend/_matmul_kernel.ts";
import { kernelRows } from "./_kernel_cases.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    backend: { type: "string", default: "wasm" },
    kernels: { type: "string", default: "fitloop" },
    threads: { type: "string", default: "auto" },
  },
});

const BATCH = 64;

async function start(): Promise<BackendInfo> {
  if (flags.kernels === "tfjs") {
    // tfjs-wasm as a user gets it: its own kernels, one thread (tfjs never starts threads
    // under Deno); only the gradients it lacks are added
    await import("@tensorflow/tfjs-backend-wasm");
    registerWasmTrainingKernels({ replace: false });
    await tf.setBackend("wasm");
    return { name: "wasm", reason: "tfjs-wasm's own kernels", threads: 1 };
  }
  const threads = flags.threads === "auto" ? "auto" : Number(flags.threads);
  const info = await useBackend(flags.backend as "wasm", { threads, env: false });
  if (flags.kernels === "pregemm") _preGemm();
  return info;
}

/** Puts back the matrix products fitloop ran before its GEMM (tfjs ran the setup already). */
function _preGemm(): void {
  const kernels: [string, (args: KernelArgs) => tf.TensorInfo][] = [
    ["BatchMatMul", _transposeThenXnnpack],
    ["_FusedMatMul", (args) => _callTfjs("_FusedMatMul", args)],
  ];
  for (const [kernelName, func] of kernels) {
    tf.unregisterKernel(kernelName, "wasm");
    tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc: func as tf.KernelFunc });
  }
}

export function mlp(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [28, 28, 1] }),
      tf.layers.dense({ units: 256, activation: "relu" }),
      tf.layers.dense({ units: 10 }),
    ],
  });
}

export function cnn(): tf.LayersModel {
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

const nullStream = { write: (_: string) => {}, isTerminal: () => false };

interface Workload {
  readonly x: tf.Tensor;
  readonly y: tf.Tensor;
  readonly yOneHot: tf.Tensor;
  readonly steps: number;
  readonly epoch: Record<string, (epochs?: number) => Promise<number>>;
}

const workloads = new Map<string, Workload>();

function workload(name: string, steps: number): Workload {
  const known = workloads.get(name);
  if (known) return known;
  const make = name === "cnn" ? cnn : mlp;
  const n = steps * BATCH;
  const x = tf.randomUniform([n, 28, 28, 1], 0, 1, "float32", 1);
  const y = tf.randomUniform([n], 0, 10, "int32", 2);
  const yOneHot = tf.oneHot(y, 10);

  // the hand loop: the same tensor work as fit (fitloop's Adam through optim's
  // optimizerStep, the same loss, one loss read per batch), none of the loop around it
  const handModel = make();
  const handParams = handModel.trainableWeights.map((w) => ({
    variable: w.read() as tf.Variable,
    group: 0,
    decay: true,
  }));
  const handOpt = adam();
  let handState = initOptimizer(handOpt, handParams);
  const hypers = [{ lr: 1e-3, mom: 0.9, sqrMom: 0.999, eps: 1e-7, wd: 0 }];
  const order = Int32Array.from(tf.util.createShuffledIndices(n));
  const hand = async (): Promise<number> => {
    const t0 = performance.now();
    for (let s = 0; s < steps; s++) {
      const idx = tf.tensor1d(order.slice(s * BATCH, (s + 1) * BATCH), "int32");
      const xb = tf.gather(x, idx);
      const yb = tf.gather(y, idx);
      const { value, grads } = tf.variableGrads(
        () => crossEntropy(handModel.apply(xb, { training: true }) as tf.Tensor, yb),
        handParams.map((p) => p.variable),
      );
      handState = optimizerStep(handOpt, handParams, grads, handState, hypers);
      await value.data();
      tf.dispose([idx, xb, yb, value, ...Object.values(grads)]);
    }
    return (performance.now() - t0) / steps;
  };

  const peerModel = make();
  peerModel.compile({
    optimizer: tf.train.adam(1e-3),
    loss: (yTrue: tf.Tensor, yPred: tf.Tensor) => crossEntropy(yPred, yTrue),
  });
  const modelFit = async (): Promise<number> => {
    const t0 = performance.now();
    await peerModel.fit(x, yOneHot, { batchSize: BATCH, epochs: 1, shuffle: true, verbose: 0 });
    return (performance.now() - t0) / steps;
  };

  const epoch: Workload["epoch"] = { hand, modelFit };
  if (flags.kernels === "fitloop") {
    const learn = learner({
      model: make(),
      data: { train: batches(x, y, { batchSize: BATCH, shuffle: true }) },
      loss: crossEntropy,
      metrics: [accuracy],
    });
    epoch.fit = async (epochs = 1): Promise<number> => {
      const t0 = performance.now();
      await fit(learn, epochs, {
        callbacks: [oneCycle({ lrMax: 1e-3 }), progressBar({ stream: nullStream })],
      });
      return (performance.now() - t0) / (steps * epochs);
    };
  }
  const w = { x, y, yOneHot, steps, epoch };
  workloads.set(name, w);
  return w;
}

const warmed = new Set<string>();

async function step(name: string, variant: string, steps: number): Promise<number> {
  const w = workload(name, steps);
  const run = w.epoch[variant];
  if (!run) throw new Error(`variant ${variant} is not offered by this process`);
  if (!warmed.has(`${name}/${variant}`)) {
    await run();
    warmed.add(`${name}/${variant}`);
  }
  return await run();
}

async function memory(name: string, steps: number): Promise<Record<string, number>> {
  const run = workload(name, steps).epoch.fit ?? workload(name, steps).epoch.hand!;
  const gc = (globalThis as { gc?: () => void }).gc;
  await run(1);
  gc?.();
  const tensorsAfter1 = tf.memory().numTensors;
  const heapAfter1 = Deno.memoryUsage().heapUsed;
  await run(5);
  gc?.();
  return {
    tensorsAfter1,
    tensorsAfter5: tf.memory().numTensors,
    heapAfter1,
    heapAfter5: Deno.memoryUsage().heapUsed,
    gc: gc ? 1 : 0,
  };
}

const info = await start();
// the loop chooses a backend when it is first imported and none was: import it after ours
const { accuracy, batches, crossEntropy, fit, learner } = await import("../core/mod.ts");
const { oneCycle, progressBar } = await import("../callbacks/mod.ts");
const { adam, initOptimizer, optimizerStep } = await import("../optim/mod.ts");
console.log(JSON.stringify({ ready: true, info }));
const decoder = new TextDecoder();
let buffered = "";
for await (const chunk of Deno.stdin.readable) {
  buffered += decoder.decode(chunk, { stream: true });
  let newline: number;
  while ((newline = buffered.indexOf("\n")) >= 0) {
    const line = buffered.slice(0, newline);
    buffered = buffered.slice(newline + 1);
    if (!line.trim()) continue;
    const msg = JSON.parse(line) as Record<string, string | number>;
    try {
      if (msg.cmd === "quit") Deno.exit(0);
      if (msg.cmd === "step") {
        const ms = await step(String(msg.workload), String(msg.variant), Number(msg.steps));
        console.log(JSON.stringify({ ms }));
      } else if (msg.cmd === "kernels") {
        console.log(JSON.stringify({ rows: kernelRows(Number(msg.reps ?? 7)) }));
      } else if (msg.cmd === "memory") {
        console.log(JSON.stringify(await memory(String(msg.workload), Number(msg.steps))));
      } else {
        throw new Error(`unknown command ${msg.cmd}`);
      }
    } catch (e) {
      console.log(JSON.stringify({ error: e instanceof Error ? e.message : String(e) }));
    }
  }
}
