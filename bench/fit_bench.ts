// `deno task bench` (first part): training steps of an MLP (784-256-10) and the demo CNN
// (conv 3x3x16, pool, conv 3x3x32, pool, dense 10), batch 64, Adam, on tfjs's WASM
// backend, all interleaved in one run across processes (bench/_step_server.ts):
//
//   fitloop, N threads   fitloop's kernels, XNNPACK threads, one per core (forced: the
//                        default drops them where they do not help): fitloop's fit, a hand
//                        loop doing the same tensor work (fitloop's Adam), model.fit
//   fitloop, 1 thread    fitloop's kernels, one thread: fit and the hand loop
//   before GEMM          fitloop's kernels but the matrix products it ran before its SIMD
//                        GEMM (transpose, then XNNPACK), one thread: the hand loop
//   tfjs-wasm's own      tfjs-wasm's kernels (plus only the gradients it lacks), one
//                        thread, as tfjs runs under Deno: the hand loop and model.fit
//   PyTorch 1 / N thr.   the same steps in PyTorch on the CPU (bench/pytorch_ref.py), when
//                        python3 can import torch
//
// Each repetition runs every (process, variant) once, one at a time, for one epoch of
// S steps after a warm-up epoch; the tables give medians in ms per step, then
// per-kernel times (fitloop's against tfjs's, same process, and against what fitloop ran
// before its SIMD GEMM where that differs from tfjs's), then tensor and heap
// counts after 1 and after 5 epochs. The machine's load average is printed beside the
// numbers: on a shared machine, compare ratios within one run only.
//
// Flags: --backend wasm|cpu|webgpu (default wasm; cpu and webgpu run the three variants
//        in one process), --reps N (default 9), --workloads mlp,cnn, --steps-mlp S
//        (default 40), --steps-cnn S (default 20), --kernel-reps N (default 9),
//        --no-torch, --json PATH.
import { parseArgs } from "node:util";
import type { KernelRow } from "./_kernel_cases.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    backend: { type: "string", default: "wasm" },
    reps: { type: "string", default: "9" },
    workloads: { type: "string", default: "mlp,cnn" },
    "steps-mlp": { type: "string", default: "40" },
    "steps-cnn": { type: "string", default: "20" },
    "kernel-reps": { type: "string", default: "9" },
    "no-torch": { type: "boolean", default: false },
    json: { type: "string" },
  },
});
const reps = Number(flags.reps);
const workloads = flags.workloads.split(",");
const steps: Record<string, number> = {
  mlp: Number(flags["steps-mlp"]),
  cnn: Number(flags["steps-cnn"]),
};

type Reply = Record<string, unknown>;

interface Server {
  readonly label: string;
  readonly ready: Reply;
  send(msg: Record<string, unknown>): Promise<Reply>;
  close(): Promise<void>;
}

async function spawn(label: string, cmd: string, args: string[]): Promise<Server> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
    env: { FITLOOP_BACKEND: "", FITLOOP_WASM_THREADS: "" },
  }).spawn();
  const writer = child.stdin.getWriter();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const next = async (): Promise<Reply> => {
    for (;;) {
      const newline = buffered.indexOf("\n");
      if (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line.startsWith("{")) return JSON.parse(line) as Reply;
        continue; // not ours (a library's log line)
      }
      const { value, done } = await lines.read();
      if (done) throw new Error(`${label} ended`);
      buffered += value;
    }
  };
  const ready = await next();
  return {
    label,
    ready,
    async send(msg) {
      await writer.write(new TextEncoder().encode(JSON.stringify(msg) + "\n"));
      const reply = await next();
      if (reply.error) throw new Error(`${label}: ${reply.error}`);
      return reply;
    },
    async close() {
      try {
        await writer.write(new TextEncoder().encode('{"cmd":"quit"}\n'));
        await writer.close();
      } catch {
        // already gone
      }
      await child.status;
    },
  };
}

function denoServer(label: string, extra: string[]): Promise<Server> {
  return spawn(label, Deno.execPath(), [
    "run",
    "-A",
    "--v8-flags=--expose-gc",
    new URL("./_step_server.ts", import.meta.url).pathname,
    ...extra,
  ]);
}

async function torchServer(): Promise<Server | undefined> {
  if (flags["no-torch"]) return undefined;
  const script = new URL("./pytorch_ref.py", import.meta.url).pathname;
  for (const python of ["/usr/bin/python3", "python3"]) {
    try {
      const probe = await new Deno.Command(python, { args: ["-c", "import torch"] }).output();
      if (probe.success) return await spawn("PyTorch", python, [script]);
    } catch {
      // not installed here
    }
  }
  return undefined;
}

const median = (xs: number[]): number => {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function load(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  } catch {
    return "unknown";
  }
}

interface Variant {
  readonly key: string;
  readonly label: string;
  readonly run: (workload: string) => Promise<number>;
}

const loadBefore = load();
const started = performance.now();
const servers: Server[] = [];
const variants: Variant[] = [];
const step = (s: Server, variant: string) => async (w: string) =>
  (await s.send({ cmd: "step", workload: w, variant, steps: steps[w] })).ms as number;

let main: Server;
let single: Server | undefined;
let threads = 1;
if (flags.backend === "wasm") {
  // threads forced to one per core (useBackend's default would drop them when a probe
  // says they do not help, e.g. on a busy machine)
  const cores = String(Math.min(navigator.hardwareConcurrency, 8));
  main = await denoServer("fitloop", ["--kernels", "fitloop", "--threads", cores]);
  threads = (main.ready.info as { threads?: number }).threads ?? 1;
  single = await denoServer("fitloop 1 thread", ["--kernels", "fitloop", "--threads", "1"]);
  const pre = await denoServer("before GEMM", ["--kernels", "pregemm", "--threads", "1"]);
  const tfjs = await denoServer("tfjs-wasm", ["--kernels", "tfjs"]);
  servers.push(main, single, pre, tfjs);
  variants.push(
    { key: "fit", label: `fitloop fit, ${threads} thr`, run: step(main, "fit") },
    { key: "hand", label: `hand loop, ${threads} thr`, run: step(main, "hand") },
    { key: "modelFit", label: `model.fit, ${threads} thr`, run: step(main, "modelFit") },
    { key: "fit1", label: "fitloop fit, 1 thr", run: step(single, "fit") },
    { key: "hand1", label: "hand loop, 1 thr", run: step(single, "hand") },
    { key: "hand1Pre", label: "hand loop, 1 thr, before GEMM", run: step(pre, "hand") },
    { key: "tfjsHand", label: "tfjs kernels: hand loop", run: step(tfjs, "hand") },
    { key: "tfjsModelFit", label: "tfjs kernels: model.fit", run: step(tfjs, "modelFit") },
  );
  const torch = await torchServer();
  if (torch) {
    servers.push(torch);
    const t = (n: number) => async (w: string) =>
      (await torch.send({ cmd: "step", workload: w, threads: n, steps: steps[w] })).ms as number;
    variants.push({ key: "torch1", label: "PyTorch, 1 thr", run: t(1) });
    if (threads > 1) {
      variants.push({ key: "torchN", label: `PyTorch, ${threads} thr`, run: t(threads) });
    }
  }
} else {
  main = await denoServer(flags.backend, ["--backend", flags.backend]);
  servers.push(main);
  variants.push(
    { key: "fit", label: "fitloop fit", run: step(main, "fit") },
    { key: "hand", label: "hand loop", run: step(main, "hand") },
    { key: "modelFit", label: "model.fit", run: step(main, "modelFit") },
  );
}

const times: Record<string, Record<string, number[]>> = {};
for (const w of workloads) {
  times[w] = {};
  for (const v of variants) times[w]![v.key] = [];
}
for (let r = 0; r < reps; r++) {
  for (const w of workloads) {
    for (const v of variants) times[w]![v.key]!.push(await v.run(w));
  }
}
const medians: Record<string, Record<string, number>> = {};
for (const w of workloads) {
  medians[w] = Object.fromEntries(variants.map((v) => [v.key, median(times[w]![v.key]!)]));
}

let kernels: Record<string, KernelRow[]> = {};
if (flags.backend === "wasm") {
  const kreps = Number(flags["kernel-reps"]);
  kernels = {
    "1": (await single!.send({ cmd: "kernels", reps: kreps })).rows as KernelRow[],
    [String(threads)]: (await main.send({ cmd: "kernels", reps: kreps })).rows as KernelRow[],
  };
}
const memory: Record<string, Reply> = {};
for (const w of workloads) {
  memory[w] = await main.send({ cmd: "memory", workload: w, steps: steps[w] });
}
await Promise.all(servers.map((s) => s.close()));
const loadAfter = load();
const seconds = (performance.now() - started) / 1000;

// ---- report ----
const info = main.ready.info as { name: string; reason: string; threadsReason?: string };
console.log(
  `backend ${info.name} (${info.reason}${info.threadsReason ? `; ${info.threadsReason}` : ""})`,
);
console.log(
  `batch 64, ${reps} repetitions interleaved, medians in ms per step; load average ${loadBefore} ` +
    `before, ${loadAfter} after; ${seconds.toFixed(0)} s`,
);
const f = (v: number | undefined) => (v === undefined ? "" : v.toFixed(1));
console.log(`\n| variant | ${workloads.join(" | ")} |`);
console.log(`|---|${workloads.map(() => "---:").join("|")}|`);
for (const v of variants) {
  console.log(`| ${v.label} | ${workloads.map((w) => f(medians[w]![v.key])).join(" | ")} |`);
}
const ratio = (a: string, b: string, w: string) => {
  const x = medians[w]?.[a];
  const y = medians[w]?.[b];
  return x !== undefined && y !== undefined ? (x / y).toFixed(3) : "n/a";
};
console.log(`\n| ratio | ${workloads.join(" | ")} |`);
console.log(`|---|${workloads.map(() => "---:").join("|")}|`);
const ratios: [string, string, string][] = flags.backend === "wasm"
  ? [
    [`fitloop fit ${threads} thr / tfjs kernels hand loop`, "fit", "tfjsHand"],
    ["fitloop fit 1 thr / tfjs kernels hand loop", "fit1", "tfjsHand"],
    [`hand loop ${threads} thr / tfjs kernels hand loop`, "hand", "tfjsHand"],
    ["hand loop 1 thr / tfjs kernels hand loop", "hand1", "tfjsHand"],
    ["hand loop 1 thr, before GEMM / tfjs kernels hand loop", "hand1Pre", "tfjsHand"],
    ["hand loop 1 thr / before GEMM (the GEMM's gain)", "hand1", "hand1Pre"],
    [`fitloop fit / hand loop (${threads} thr)`, "fit", "hand"],
    ["fitloop fit / hand loop (1 thr)", "fit1", "hand1"],
    [`fitloop fit / model.fit (${threads} thr)`, "fit", "modelFit"],
    [`fitloop fit ${threads} thr / 1 thr`, "fit", "fit1"],
    ["fitloop fit / PyTorch (1 thr)", "fit1", "torch1"],
    [`fitloop fit / PyTorch (${threads} thr)`, "fit", "torchN"],
  ]
  : [["fitloop fit / hand loop", "fit", "hand"], ["fitloop fit / model.fit", "fit", "modelFit"]];
for (const [label, a, b] of ratios) {
  console.log(`| ${label} | ${workloads.map((w) => ratio(a, b, w)).join(" | ")} |`);
}
for (const [t, rows] of Object.entries(kernels)) {
  console.log(
    `\nper kernel, ${t} thread${t === "1" ? "" : "s"} (ms per call, median of ${
      flags["kernel-reps"]
    }):`,
  );
  console.log("| kernel | case | tfjs-wasm | fitloop before | fitloop | speed-up |");
  console.log("|---|---|---:|---:|---:|---:|");
  for (const r of rows) {
    const up = r.tfjs === undefined ? "tfjs has none" : `${(r.tfjs / r.fitloop).toFixed(1)}x`;
    console.log(
      `| ${r.kernel} | ${r.what} | ${r.tfjs === undefined ? "-" : r.tfjs.toFixed(2)} | ${
        r.before === undefined ? "" : r.before.toFixed(2)
      } | ${r.fitloop.toFixed(2)} | ${up} |`,
    );
  }
}
console.log("\nmemory (fitloop fit): tensors and heap after 1 and after 5 epochs");
for (const [w, m] of Object.entries(memory)) {
  const mb = (v: unknown) => ((v as number) / 2 ** 20).toFixed(1);
  console.log(
    `  ${w}: tensors ${m.tensorsAfter1} -> ${m.tensorsAfter5}, heap ${mb(m.heapAfter1)} -> ${
      mb(m.heapAfter5)
    } MB${m.gc ? " (after a full GC)" : " (no GC: run with --v8-flags=--expose-gc)"}`,
  );
}
if (flags.json) {
  await Deno.writeTextFile(
    flags.json,
    JSON.stringify(
      { info, loadBefore, loadAfter, seconds, reps, steps, times, medians, kernels, memory },
      null,
      2,
    ),
  );
}
