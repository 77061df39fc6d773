/**
 * Backend choice: WebGPU when a real GPU adapter is there, else WASM (with fitloop's
 * training kernels), else tfjs's plain cpu backend, and a report of what was chosen and
 * why. The WebGPU and WASM packages are loaded only when chosen. The loop (core/) calls
 * `useBackend("auto")` once when it is first imported, if no backend was chosen before.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "./_env.ts";
import { registerWasmTrainingKernels } from "./wasm_kernels.ts";

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
  /** With WASM: whether threads are on. */
  readonly threads?: boolean;
}

/** Options of {@linkcode useBackend}. */
export interface UseBackendOptions {
  /**
   * Let the `FITLOOP_BACKEND` environment variable override `"auto"` (read only with
   * `--allow-env`). @default {true}
   */
  readonly env?: boolean;
}

type Adapter = BackendInfo["adapter"];

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
  const isFallback = a.info?.isFallbackAdapter ?? a.isFallbackAdapter ?? false;
  const adapter = {
    description: a.info?.description || "unknown adapter",
    vendor: a.info?.vendor || "unknown vendor",
    isFallback,
  };
  return {
    adapter,
    why: isFallback
      ? `the WebGPU adapter '${adapter.description}' is a software fallback`
      : `WebGPU adapter '${adapter.description}'`,
  };
}

function _envChoice(enabled: boolean): BackendChoice | undefined {
  if (!enabled) return undefined;
  let value: string | undefined;
  try {
    if (
      Deno.permissions.querySync({ name: "env", variable: "FITLOOP_BACKEND" }).state !== "granted"
    ) {
      return undefined;
    }
    value = Deno.env.get("FITLOOP_BACKEND");
  } catch {
    return undefined;
  }
  if (value === undefined || value === "") return undefined;
  if (!["auto", "webgpu", "wasm", "cpu"].includes(value)) {
    throw new RangeError(
      `Cannot choose a backend as FITLOOP_BACKEND must be auto, webgpu, wasm or cpu: current value is ${value}`,
    );
  }
  return value as BackendChoice;
}

async function _start(name: "webgpu" | "wasm" | "cpu"): Promise<string | undefined> {
  try {
    if (name === "webgpu") await import("@tensorflow/tfjs-backend-webgpu");
    if (name === "wasm") {
      await import("@tensorflow/tfjs-backend-wasm");
      registerWasmTrainingKernels();
    }
    const ok = await tf.setBackend(name);
    await tf.ready();
    return ok && tf.getBackend() === name
      ? undefined
      : `tf.setBackend('${name}') could not initialise it`;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

async function _wasmInfo(reason: string): Promise<BackendInfo> {
  const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT") as boolean;
  const threads = await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT") as boolean;
  return { name: "wasm", reason, simd, threads };
}

/**
 * Selects the tfjs backend. `"auto"` takes WebGPU when `navigator.gpu` yields an adapter
 * that is not a software fallback, else WASM (SIMD, with fitloop's training kernels),
 * else cpu; `FITLOOP_BACKEND` in the environment overrides `"auto"`. An explicit choice
 * that cannot start is an error that says why.
 *
 * @param choice The backend, or "auto".
 * @param options Whether the environment may override "auto".
 * @returns What is now active, and why.
 * @throws {Error} If an explicitly chosen backend cannot start.
 * @throws {RangeError} If `FITLOOP_BACKEND` is not a backend name.
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
  if (!["auto", "webgpu", "wasm", "cpu"].includes(choice)) {
    throw new RangeError(
      `Cannot choose a backend as 'choice' must be auto, webgpu, wasm or cpu: current value is ${choice}`,
    );
  }
  const wanted = choice === "auto" ? (_envChoice(options.env ?? true) ?? "auto") : choice;
  const fromEnv = choice === "auto" && wanted !== "auto" ? " (from FITLOOP_BACKEND)" : "";
  if (wanted === "webgpu") {
    const { adapter, why } = await _adapter();
    if (!adapter) throw new Error(`Cannot use the webgpu backend${fromEnv}: ${why}`);
    const failed = await _start("webgpu");
    if (failed) throw new Error(`Cannot use the webgpu backend${fromEnv}: ${failed}`);
    return { name: "webgpu", reason: `asked for${fromEnv}; ${why}`, adapter };
  }
  if (wanted === "wasm") {
    const failed = await _start("wasm");
    if (failed) throw new Error(`Cannot use the wasm backend${fromEnv}: ${failed}`);
    return await _wasmInfo(`asked for${fromEnv}`);
  }
  if (wanted === "cpu") {
    const failed = await _start("cpu");
    if (failed) throw new Error(`Cannot use the cpu backend${fromEnv}: ${failed}`);
    return { name: "cpu", reason: `asked for${fromEnv}` };
  }
  const { adapter, why } = await _adapter();
  const notes: string[] = [];
  if (adapter && !adapter.isFallback) {
    const failed = await _start("webgpu");
    if (!failed) return { name: "webgpu", reason: `auto: ${why}`, adapter };
    notes.push(`webgpu failed to start (${failed})`);
  } else {
    notes.push(`no webgpu: ${why}`);
  }
  const wasmFailed = await _start("wasm");
  if (!wasmFailed) {
    const info = await _wasmInfo(`auto: ${notes.join("; ")}`);
    return adapter ? { ...info, adapter } : info;
  }
  notes.push(`wasm failed to start (${wasmFailed})`);
  const cpuFailed = await _start("cpu");
  if (cpuFailed) {
    throw new Error(`Cannot start any backend: ${notes.join("; ")}; cpu: ${cpuFailed}`);
  }
  return { name: "cpu", reason: `auto: ${notes.join("; ")}`, ...(adapter ? { adapter } : {}) };
}
