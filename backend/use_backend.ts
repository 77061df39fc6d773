/**
 * Backend choice: WebGPU when a real GPU adapter is there, else WASM (with fitloop's
 * training kernels and, where they help, XNNPACK threads), else tfjs's plain cpu
 * backend, and a report of what was chosen and why. The WebGPU and WASM packages are
 * loaded only when chosen. The loop (core/) calls `useBackend("auto")` once when it is
 * first imported, if no backend was chosen before.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "./_env.ts";
import { registerWasmTrainingKernels } from "./wasm_kernels.ts";
import { _forgetWasm, _MAX_THREADS, _probe, _startThreaded, _wasmDist } from "./_wasm_threads.ts";
import { _startWebgpu } from "./_webgpu.ts";
import { _setBackend } from "./_set_backend.ts";

/** A backend to ask for. */
export type BackendChoice = "auto" | "webgpu" | "wasm" | "cpu";

/** What {@linkcode useBackend} chose, and why. */
export interface BackendInfo {
  /** The backend now active. */
  readonly name: "webgpu" | "wasm" | "cpu";
  /** Why it was chosen (and why the faster ones were not). */
  readonly reason: string;
  /** The WebGPU adapter seen, if any. */
  readonly adapter?: {
    /** Adapter description, e.g. "NVIDIA H100" or "llvmpipe". */
    readonly description: string;
    /** Vendor id or name. */
    readonly vendor: string;
    /** Whether it is a software fallback. */
    readonly isFallback: boolean;
  };
  /** With WASM: whether SIMD is on. */
  readonly simd?: boolean;
  /** With WASM: the threads tfjs-wasm's XNNPACK kernels run on (1: no threads). */
  readonly threads?: number;
  /** With WASM: why that many threads (or why threads are off). */
  readonly threadsReason?: string;
}

/** Options of {@linkcode useBackend}. */
export interface UseBackendOptions {
  /**
   * Let the environment override: `FITLOOP_BACKEND` overrides `"auto"`, and
   * `FITLOOP_WASM_THREADS` overrides `threads: "auto"` (read only with `--allow-env`).
   * @default {true}
   */
  readonly env?: boolean;
  /**
   * Threads for tfjs-wasm's XNNPACK kernels: `"auto"` (one per core, at most 8), a count,
   * or 0 / 1 for none. They are fixed when the WASM backend first starts in a process.
   * If threads fail to start, the backend starts on one thread and `threadsReason` says
   * why.
   * @default {"auto"}
   */
  readonly threads?: number | "auto";
}

type Adapter = BackendInfo["adapter"];

const CHOICES = ["auto", "webgpu", "wasm", "cpu"];

async function _adapter(): Promise<{ adapter: Adapter; why: string }> {
  const gpu = (globalThis.navigator as { gpu?: { requestAdapter(): Promise<unknown> } } | undefined)
    ?.gpu;
  if (!gpu) return { adapter: undefined, why: "navigator.gpu is not available in this runtime" };
  let raw: unknown;
  try {
    raw = await gpu.requestAdapter();
  } catch (e) {
    return {
      adapter: undefined,
      why: `requestAdapter() failed: ${e instanceof Error ? e.message : e}`,
    };
  }
  if (!raw) return { adapter: undefined, why: "navigator.gpu.requestAdapter() found no adapter" };
  const a = raw as {
    info?: { description?: string; vendor?: string; isFallbackAdapter?: boolean };
    isFallbackAdapter?: boolean;
  };
  let info: typeof a.info;
  try {
    info = a.info;
  } catch {
    info = undefined;
  }
  const isFallback = info?.isFallbackAdapter ?? a.isFallbackAdapter ?? false;
  const adapter = {
    description: info?.description || "unknown adapter",
    vendor: info?.vendor || "unknown vendor",
    isFallback,
  };
  return {
    adapter,
    why: isFallback
      ? `the WebGPU adapter '${adapter.description}' is a software fallback`
      : `WebGPU adapter '${adapter.description}'`,
  };
}

/** An environment variable, when `--allow-env` grants it; undefined otherwise. */
function _env(name: string): string | undefined {
  try {
    if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
      return undefined;
    }
    const value = Deno.env.get(name);
    return value === "" ? undefined : value;
  } catch {
    return undefined;
  }
}

function _envChoice(enabled: boolean): BackendChoice | undefined {
  const value = enabled ? _env("FITLOOP_BACKEND") : undefined;
  if (value === undefined) return undefined;
  if (!CHOICES.includes(value)) {
    throw new RangeError(
      `Cannot choose a backend as FITLOOP_BACKEND must be auto, webgpu, wasm or cpu: current value is ${value}`,
    );
  }
  return value as BackendChoice;
}

/** The threads wanted, where that number comes from, and whether it is the default. */
interface ThreadsWanted {
  readonly count: number;
  readonly why: string;
  readonly auto: boolean;
}

function _threadsWanted(options: UseBackendOptions): ThreadsWanted {
  const asked = options.threads ?? "auto";
  const valid = (n: number) => Number.isInteger(n) && n >= 0;
  if (asked !== "auto") {
    if (typeof asked !== "number" || !valid(asked)) {
      throw new RangeError(
        `Cannot start the wasm backend as 'options.threads' must be "auto" or a whole number >= 0: current value is ${asked}`,
      );
    }
    return {
      count: Math.min(asked, _MAX_THREADS),
      why: `options.threads is ${asked}`,
      auto: false,
    };
  }
  const fromEnv = (options.env ?? true) ? _env("FITLOOP_WASM_THREADS") : undefined;
  if (fromEnv !== undefined) {
    const n = Number(fromEnv);
    if (!valid(n) || fromEnv.trim() === "") {
      throw new RangeError(
        `Cannot start the wasm backend as FITLOOP_WASM_THREADS must be a whole number >= 0: current value is ${fromEnv}`,
      );
    }
    return {
      count: Math.min(n, _MAX_THREADS),
      why: `FITLOOP_WASM_THREADS is ${fromEnv}`,
      auto: false,
    };
  }
  if (_inWorker()) {
    return {
      count: 1,
      why: "one thread in a Worker (sweeps run a Worker per trial, side by side)",
      auto: false,
    };
  }
  const cores = globalThis.navigator?.hardwareConcurrency ?? 1;
  return {
    count: Math.min(cores, _MAX_THREADS),
    why: `one per core (${cores} cores)`,
    auto: true,
  };
}

/** Whether this code runs in a Web Worker (Deno defines WorkerGlobalScope only there). */
function _inWorker(): boolean {
  const scope = (globalThis as { WorkerGlobalScope?: abstract new () => unknown })
    .WorkerGlobalScope;
  return scope !== undefined && globalThis instanceof scope;
}

interface WasmStart {
  readonly failed?: string;
  readonly threads: number;
  readonly threadsReason: string;
}

/** How this module last started WASM (its threads stay as they were for the process). */
let _lastWasm: WasmStart | undefined;

async function _startWasm(wanted: ThreadsWanted): Promise<WasmStart> {
  const started = tf.engine().registry["wasm"] !== undefined;
  const start = await _startWasmOnce(wanted);
  if (!started && !start.failed) _lastWasm = start;
  return start;
}

async function _startWasmOnce(wanted: ThreadsWanted): Promise<WasmStart> {
  let pkg: typeof import("@tensorflow/tfjs-backend-wasm");
  try {
    pkg = await import("@tensorflow/tfjs-backend-wasm");
    registerWasmTrainingKernels();
  } catch (e) {
    return { failed: e instanceof Error ? e.message : String(e), threads: 0, threadsReason: "" };
  }
  const single = async (threadsReason: string): Promise<WasmStart> => {
    const failed = await _start("wasm");
    return failed ? { failed, threads: 0, threadsReason } : { threads: 1, threadsReason };
  };
  if (tf.engine().registry["wasm"] !== undefined) {
    const failed = await _start("wasm");
    const threads = failed ? 0 : pkg.getThreadsCount();
    const earlier = _lastWasm?.threads === threads ? _lastWasm.threadsReason : undefined;
    return {
      ...(failed ? { failed } : {}),
      threads,
      threadsReason: earlier
        ? `${earlier} (when WASM first started in this process; threads are fixed then)`
        : `${threads} thread${
          threads === 1 ? "" : "s"
        }: the wasm backend had started before, and its threads are fixed at its start`,
    };
  }
  if (wanted.count <= 1) return await single(`one thread: ${wanted.why}`);
  const dist = _wasmDist(pkg);
  if (!dist.url) return await single(`one thread: threads cannot start as ${dist.why}`);
  // "auto": time a probe on one thread first, to keep threads only where they help
  let one: number | undefined;
  if (wanted.auto) {
    const failed = await _start("wasm");
    if (failed) return { failed, threads: 0, threadsReason: "" };
    one = await _probe();
    _forgetWasm();
  }
  let threads: number;
  try {
    threads = await _startThreaded(pkg, wanted.count, dist.url);
  } catch (e) {
    return await single(
      `one thread: threads failed to start (${e instanceof Error ? e.message : e})`,
    );
  }
  const asked = threads === wanted.count
    ? `${threads} threads: ${wanted.why}`
    : `${threads} threads of ${wanted.count} asked for (${wanted.why})`;
  if (one === undefined) return { threads, threadsReason: asked };
  const many = await _probe();
  const probe = `a probe convolution took ${many.toFixed(2)} ms on ${threads} threads and ${
    one.toFixed(2)
  } ms on one`;
  if (many <= 0.85 * one) return { threads, threadsReason: `${asked}; ${probe}` };
  _forgetWasm();
  pkg.setThreadsCount(-1);
  return await single(
    `one thread: threads do not help here now (${probe}; the machine may be busy); ` +
      `FITLOOP_WASM_THREADS=${threads} forces them`,
  );
}

async function _start(name: "webgpu" | "wasm" | "cpu"): Promise<string | undefined> {
  return name === "webgpu" ? await _startWebgpu() : await _setBackend(name);
}

async function _wasmInfo(reason: string, start: WasmStart): Promise<BackendInfo> {
  const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT") as boolean;
  return {
    name: "wasm",
    reason,
    simd,
    threads: start.threads,
    threadsReason: start.threadsReason,
  };
}

/**
 * Selects the tfjs backend. `"auto"` takes WebGPU when `navigator.gpu` yields an adapter
 * that is not a software fallback, else WASM (SIMD, fitloop's training kernels, XNNPACK
 * threads where they start), else cpu; `FITLOOP_BACKEND` in the environment overrides
 * `"auto"`. WebGPU that cannot start falls back to WASM, saying why; an explicit `"wasm"`
 * or `"cpu"` that cannot start is an error. WASM threads that cannot start fall back to
 * one thread, saying why in `threadsReason`.
 *
 * @param choice The backend, or "auto".
 * @param options Whether the environment may override "auto", and the WASM threads.
 * @returns What is now active, and why.
 * @throws {Error} If an explicitly chosen wasm or cpu backend cannot start, or none can.
 * @throws {RangeError} If `choice`, `FITLOOP_BACKEND`, `options.threads` or
 * `FITLOOP_WASM_THREADS` is not valid.
 *
 * @example The cpu backend always starts
 * ```ts
 * import { useBackend } from "@fitloop/fitloop";
 * import { assertEquals } from "@std/assert";
 * const info = await useBackend("cpu");
 * assertEquals(info.name, "cpu");
 * ```
 */
export async function useBackend(
  choice: BackendChoice = "auto",
  options: UseBackendOptions = {},
): Promise<BackendInfo> {
  if (!CHOICES.includes(choice)) {
    throw new RangeError(
      `Cannot choose a backend as 'choice' must be auto, webgpu, wasm or cpu: current value is ${choice}`,
    );
  }
  const wanted = choice === "auto" ? (_envChoice(options.env ?? true) ?? "auto") : choice;
  const threads = _threadsWanted(options);
  const fromEnv = choice === "auto" && wanted !== "auto" ? " (from FITLOOP_BACKEND)" : "";
  if (wanted === "cpu") {
    const failed = await _start("cpu");
    if (failed) throw new Error(`Cannot use the cpu backend${fromEnv}: ${failed}`);
    return { name: "cpu", reason: `asked for${fromEnv}` };
  }
  if (wanted === "wasm") {
    const start = await _startWasm(threads);
    if (start.failed) throw new Error(`Cannot use the wasm backend${fromEnv}: ${start.failed}`);
    return await _wasmInfo(`asked for${fromEnv}`, start);
  }
  // In a Worker "auto" does not probe WebGPU: Deno can crash (SIGSEGV, about 1 run in 12
  // here) when a Worker that requested an adapter is terminated, as a sweep does after each
  // trial. Ask for "webgpu" explicitly to use it in a Worker.
  const { adapter, why } = wanted === "auto" && _inWorker()
    ? {
      adapter: undefined,
      why: "not probed in a Worker (terminating one that holds an adapter can crash Deno)",
    }
    : await _adapter();
  const notes: string[] = [];
  if (wanted === "webgpu" || (adapter && !adapter.isFallback)) {
    const failed = adapter ? await _start("webgpu") : why;
    if (!failed) {
      const reason = wanted === "webgpu" ? `asked for${fromEnv}; ${why}` : `auto: ${why}`;
      return { name: "webgpu", reason, ...(adapter ? { adapter } : {}) };
    }
    notes.push(
      wanted === "webgpu"
        ? `webgpu was asked for${fromEnv} but cannot start (${failed})`
        : `webgpu failed to start (${failed})`,
    );
  } else {
    notes.push(`no webgpu: ${why}`);
  }
  const prefix = wanted === "webgpu" ? "" : "auto: ";
  const start = await _startWasm(threads);
  if (!start.failed) {
    const info = await _wasmInfo(`${prefix}${notes.join("; ")}`, start);
    return adapter ? { ...info, adapter } : info;
  }
  notes.push(`wasm failed to start (${start.failed})`);
  const cpuFailed = await _start("cpu");
  if (cpuFailed) {
    throw new Error(`Cannot start any backend: ${notes.join("; ")}; cpu: ${cpuFailed}`);
  }
  return {
    name: "cpu",
    reason: `${prefix}${notes.join("; ")}`,
    ...(adapter ? { adapter } : {}),
  };
}
