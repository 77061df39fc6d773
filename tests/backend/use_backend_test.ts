// The same short, seeded fit on cpu, wasm and webgpu (here the software adapter): an MLP
// and a CNN; losses must agree within float tolerance and no tensor may leak on any.
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { mulberry32 } from "../../core/_rng.ts";
import { type BackendInfo, useBackend } from "../../backend/use_backend.ts";
import { batches } from "../../core/data.ts";
import { fit } from "../../core/fit.ts";
import { disposeLearner, learner } from "../../core/learner.ts";
import { crossEntropy } from "../../core/losses.ts";
import { accuracy } from "../../core/metrics.ts";
import { sgd } from "../../optim/sgd.ts";

function values(n: number, seed: number, scale = 1): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale);
}

function mlp(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.dense({ units: 16, inputShape: [6], activation: "relu" }),
      tf.layers.dense({ units: 3 }),
    ],
  });
}

function cnn(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: "relu", inputShape: [8, 8, 1] }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({
        filters: 4,
        kernelSize: 3,
        padding: "same",
        strides: 2,
        activation: "relu",
      }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 3 }),
    ],
  });
}

/** A seeded fit on the active backend: its losses, validation metrics and leak count. */
async function seededFit(
  make: () => tf.LayersModel,
  inputShape: number[],
): Promise<{ losses: number[]; metrics: number[]; leaked: number }> {
  const n = 48;
  const model = make();
  // identical starting weights on every backend
  model.setWeights(
    model.getWeights().map((w, i) => tf.tensor(values(w.size, 100 + i, 0.4), w.shape)),
  );
  const x = tf.tensor(values(n * inputShape.reduce((a, b) => a * b), 7), [n, ...inputShape]);
  const y = tf.tensor1d(Array.from({ length: n }, (_, i) => i % 3), "int32");
  const learn = learner({
    model,
    data: { train: batches(x, y, { batchSize: 16 }), valid: batches(x, y, { batchSize: 24 }) },
    loss: crossEntropy,
    metrics: [accuracy],
    optimizer: sgd({ mom: 0.9 }),
  });
  const before = tf.memory().numTensors;
  const { history, state } = await fit(learn, 3, { lr: 0.05 });
  const slots = model.trainableWeights.length;
  const leaked = tf.memory().numTensors - before - slots;
  disposeLearner(learn);
  tf.dispose([x, y]);
  model.dispose();
  return { losses: history.losses, metrics: [...state.lastMetrics], leaked };
}

const results: Record<string, Record<string, Awaited<ReturnType<typeof seededFit>>>> = {};
const infos: Record<string, BackendInfo> = {};

for (const backend of ["cpu", "wasm", "webgpu"] as const) {
  Deno.test(`useBackend("${backend}") starts it and an MLP and a CNN train there without leaks`, async () => {
    infos[backend] = await useBackend(backend);
    assertEquals(tf.getBackend(), backend);
    results[backend] = {
      mlp: await seededFit(mlp, [6]),
      cnn: await seededFit(cnn, [8, 8, 1]),
    };
    for (const r of Object.values(results[backend]!)) {
      assertEquals(r.leaked, 0);
      assertEquals(r.losses.length, 9);
      assert(r.losses.every(Number.isFinite));
    }
  });
}

/** The fits on `backend`: those of the test above, or run now (this test alone, --filter). */
async function resultsOn(backend: "cpu" | "wasm" | "webgpu"): Promise<(typeof results)[string]> {
  if (!results[backend]) {
    await useBackend(backend);
    results[backend] = { mlp: await seededFit(mlp, [6]), cnn: await seededFit(cnn, [8, 8, 1]) };
  }
  return results[backend]!;
}

Deno.test("cpu, wasm and webgpu agree on the losses and metrics of the same seeded fit", async () => {
  for (const model of ["mlp", "cnn"]) {
    const ref = (await resultsOn("cpu"))[model]!;
    for (const backend of ["wasm", "webgpu"] as const) {
      const got = (await resultsOn(backend))[model]!;
      [...got.losses, ...got.metrics].forEach((v, i) => {
        const r = [...ref.losses, ...ref.metrics][i]!;
        assert(
          Math.abs(v - r) <= 1e-4 * Math.max(1, Math.abs(r)),
          `${model} on ${backend}: ${v} vs ${r} at ${i}`,
        );
      });
    }
  }
});

Deno.test("useBackend('auto') takes WebGPU only for a real adapter, and says why", async () => {
  const info = await useBackend("auto", { env: false });
  if (info.adapter && !info.adapter.isFallback) {
    assertEquals(info.name, "webgpu");
  } else {
    assertEquals(info.name, "wasm");
    assert(info.simd);
    if (info.adapter) assertStringIncludes(info.reason, "software fallback");
  }
  assertEquals(tf.getBackend(), info.name);
  await useBackend("cpu");
});

Deno.test("useBackend() refuses unknown names, from the argument or FITLOOP_BACKEND", async () => {
  await assertRejects(() => useBackend("tpu" as never), RangeError, "current value is tpu");
  Deno.env.set("FITLOOP_BACKEND", "gpu");
  try {
    await assertRejects(() => useBackend("auto"), RangeError, "FITLOOP_BACKEND must be");
    Deno.env.set("FITLOOP_BACKEND", "cpu");
    const info = await useBackend("auto");
    assertEquals(info.name, "cpu");
    assertStringIncludes(info.reason, "FITLOOP_BACKEND");
  } finally {
    Deno.env.delete("FITLOOP_BACKEND");
  }
});

Deno.test("useBackend('webgpu') that cannot start falls back to WASM and says why", async () => {
  Object.defineProperty(globalThis.navigator, "gpu", { value: undefined, configurable: true });
  try {
    const info = await useBackend("webgpu");
    assertEquals(info.name, "wasm");
    assertStringIncludes(
      info.reason,
      "webgpu was asked for but cannot start (navigator.gpu is not available in this runtime)",
    );
    const auto = await useBackend("auto", { env: false });
    assertEquals(auto.name, "wasm");
    assertStringIncludes(auto.reason, "no webgpu: navigator.gpu is not available");
  } finally {
    delete (globalThis.navigator as { gpu?: unknown }).gpu;
  }
  assert(globalThis.navigator.gpu !== undefined);
  await useBackend("cpu");
});

Deno.test("the WASM backend of this process reports its threads and why", () => {
  const info = infos.wasm!;
  assert(Number.isInteger(info.threads) && info.threads! >= 1, `threads: ${info.threads}`);
  assert(info.threadsReason && info.threadsReason.length > 0);
});

Deno.test("useBackend() refuses a bad thread count, from the option or FITLOOP_WASM_THREADS", async () => {
  for (const threads of [-1, 1.5, "two"]) {
    await assertRejects(
      () => useBackend("wasm", { threads: threads as number }),
      RangeError,
      "'options.threads' must be",
    );
  }
  Deno.env.set("FITLOOP_WASM_THREADS", "many");
  try {
    await assertRejects(() => useBackend("wasm"), RangeError, "FITLOOP_WASM_THREADS must be");
  } finally {
    Deno.env.delete("FITLOOP_WASM_THREADS");
  }
});

interface ChildRun {
  info: BackendInfo;
  losses: number[];
}

/** Runs the thread fixture in a fresh process (threads are fixed when WASM starts). */
async function child(mode: string, env: Record<string, string> = {}): Promise<ChildRun> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--import-map=tests/import_map.json",
      "tests/backend/_threads_child.ts",
      mode,
    ],
    env: { ...env, FITLOOP_BACKEND: "" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert(out.success, `child ${mode} failed: ${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(text.trim().split("\n").at(-1)!) as ChildRun;
}

Deno.test("WASM threads train bitwise like one thread (FITLOOP_WASM_THREADS=2 against 0)", async () => {
  const [threaded, single] = await Promise.all([
    child("default", { FITLOOP_WASM_THREADS: "2" }),
    child("default", { FITLOOP_WASM_THREADS: "0" }),
  ]);
  assertEquals(single.info.threads, 1);
  assertStringIncludes(single.info.threadsReason!, "FITLOOP_WASM_THREADS is 0");
  assertEquals(threaded.info.threads, 2, threaded.info.threadsReason);
  assertEquals(threaded.info.threadsReason, "2 threads: FITLOOP_WASM_THREADS is 2");
  assertEquals(threaded.losses.length, 4);
  assert(threaded.losses.every(Number.isFinite));
  assertEquals(threaded.losses, single.losses); // bitwise
});

Deno.test("by default, WASM threads start and are kept where a probe shows they help", async () => {
  const run = await child("default");
  const cores = Math.min(navigator.hardwareConcurrency, 8);
  const reason = run.info.threadsReason!;
  if (cores === 1) {
    assertEquals([run.info.threads, reason], [1, "one thread: one per core (1 cores)"]);
  } else if (run.info.threads === cores) {
    assertStringIncludes(reason, `${cores} threads: one per core (${cores} cores); a probe`);
  } else {
    // a busy machine: both timings are given, and how to force threads
    assertEquals(run.info.threads, 1);
    assertStringIncludes(reason, "one thread: threads do not help here now (a probe");
    assertStringIncludes(reason, `FITLOOP_WASM_THREADS=${cores} forces them`);
  }
  assert(run.losses.every(Number.isFinite));
});

Deno.test("WASM threads that cannot start fall back to one thread and say why", async () => {
  const run = await child("no-blob-urls", { FITLOOP_WASM_THREADS: "2" });
  assertEquals(run.info.name, "wasm");
  assertEquals(run.info.threads, 1);
  assertStringIncludes(
    run.info.threadsReason!,
    "one thread: threads failed to start (no blob URLs here)",
  );
  assert(run.losses.every(Number.isFinite));
});

Deno.test("in a Worker, 'auto' probes no WebGPU and takes one WASM thread, saying why", async () => {
  // Terminating a Worker that requested a WebGPU adapter crashed Deno (SIGSEGV) in about 1 of
  // 12 runs here, and sweeps terminate a Worker after every trial.
  const dir = await Deno.makeTempDir();
  const url = new URL("../../backend/mod.ts", import.meta.url).href;
  await Deno.writeTextFile(
    `${dir}/worker.ts`,
    `import { useBackend } from "${url}";
const info = await useBackend("auto", { env: false });
(self as unknown as { postMessage(m: unknown): void }).postMessage({
  name: info.name, threads: info.threads, reason: info.reason, threadsReason: info.threadsReason,
});`,
  );
  const worker = new Worker(new URL(`file://${dir}/worker.ts`), { type: "module" });
  try {
    const info = await new Promise<Record<string, unknown>>((resolve, reject) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.onerror = (e) => reject(e.message);
    });
    assertEquals([info.name, info.threads], ["wasm", 1]);
    assertStringIncludes(String(info.reason), "not probed in a Worker");
    assertStringIncludes(String(info.threadsReason), "one thread in a Worker");
  } finally {
    worker.terminate();
    await Deno.remove(dir, { recursive: true });
  }
});
