// Starting tfjs-backend-wasm with XNNPACK threads under Deno.
//
// tfjs-wasm's threaded build is an emscripten module that, under Deno, believes it runs
// in Node (Deno defines `process.versions.node`) and starts `worker_threads` Workers
// from blob URLs, which fails (ERR_WORKER_PATH). While the backend initialises, fitloop:
//
// - hides `process.versions.node`, so emscripten takes its web path;
// - records the text of the Blobs tfjs creates (the worker script and the module's
//   own source, which each worker evaluates) and the URLs made for them;
// - replaces `Worker` by a function that runs that script in an unref'd
//   node:worker_threads Worker, behind the web worker API emscripten expects and a
//   synchronous `importScripts` (an indirect eval of the module source);
// - points tfjs at the `.wasm` files of the package (`setWasmPaths(<file URL>, true)`);
// - raises `navigator.hardwareConcurrency` to twice the threads wanted (tfjs gives
//   XNNPACK half the reported cores).
//
// Everything is restored when the backend has started or failed. If the threaded start
// fails or hangs, the caller falls back to one thread.
import * as tf from "@tensorflow/tfjs";
import { Worker as NodeWorker } from "node:worker_threads";
import { _setBackend } from "./_set_backend.ts";

type WasmPackage = typeof import("@tensorflow/tfjs-backend-wasm");

/** The most threads fitloop asks for: emscripten pre-starts a pool of 8 workers. */
export const _MAX_THREADS = 8;

/** How long a threaded start may take before fitloop gives up on it. */
const START_TIMEOUT_MS = 20_000;

const WASM_FILE = "tfjs-backend-wasm-threaded-simd.wasm";

function _exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/**
 * The directory (as a file URL ending in "/") holding the package's `.wasm` files, or
 * why it was not found. The package's own code names its file in a stack trace.
 */
export function _wasmDist(pkg: WasmPackage): { url?: string; why?: string } {
  const candidates: string[] = [];
  try {
    pkg.getThreadsCount(); // throws before the backend has started
  } catch (e) {
    const m = String((e as Error)?.stack ?? "").match(/(file:\/\/[^\s)]*?\/)[^/\s)]+\.js:\d+/);
    if (m) candidates.push(m[1]!);
  }
  try {
    const home = Deno.env.get("DENO_DIR") ??
      (Deno.env.get("XDG_CACHE_HOME") ? `${Deno.env.get("XDG_CACHE_HOME")}/deno` : undefined) ??
      (Deno.env.get("HOME") ? `${Deno.env.get("HOME")}/.cache/deno` : undefined);
    if (home) {
      candidates.push(
        `file://${home}/npm/registry.npmjs.org/@tensorflow/tfjs-backend-wasm/${pkg.version_wasm}/dist/`,
      );
    }
  } catch {
    // no --allow-env: only the stack trace's candidate
  }
  for (const url of candidates) {
    try {
      if (_exists(decodeURIComponent(new URL(url + WASM_FILE).pathname))) return { url };
    } catch (e) {
      if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
        return { why: `reading ${url} needs --allow-read` };
      }
    }
  }
  return { why: `${WASM_FILE} was not found (looked in ${candidates.join(", ") || "nothing"})` };
}

/** The part of a web Worker emscripten's pthreads use. */
interface _ThreadWorker {
  onmessage: ((e: { data: unknown }) => void) | null;
  onerror: ((e: unknown) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
  terminate(): void;
}

/**
 * A pthread worker: a node:worker_threads Worker running emscripten's worker script
 * (web Workers would keep Deno alive forever, as XNNPACK's threads never end; this one
 * is unref'd, so the process exits when the program is done). Inside, the script sees
 * the web worker API it expects: `self`, `onmessage`, `postMessage`, and a synchronous
 * `importScripts` that evaluates the module's source.
 */
function _threadWorker(
  script: string,
  main: string,
  failed: (e: unknown) => void,
): _ThreadWorker {
  const boot = `
    const __fitloopPort = require("node:worker_threads").parentPort;
    if (globalThis.process?.versions) globalThis.process.versions.node = undefined;
    globalThis.self = globalThis;
    globalThis.location = { href: "blob:fitloop-wasm-thread" };
    globalThis.postMessage = (message, transfer) => __fitloopPort.postMessage(message, transfer);
    const __fitloopModuleSource = ${JSON.stringify(main)};
    globalThis.importScripts = (url) => {
      if (!String(url).startsWith("blob:")) throw new Error("importScripts: " + url);
      (0, eval)(__fitloopModuleSource);
    };
    __fitloopPort.on("message", (data) => self.onmessage({ data }));
  `;
  const worker = new NodeWorker(boot + script, { eval: true });
  const adapter: _ThreadWorker = {
    onmessage: null,
    onerror: null,
    postMessage: (message, transfer) =>
      worker.postMessage(message, transfer as Parameters<typeof worker.postMessage>[1]),
    terminate: () => void worker.terminate(),
  };
  worker.on("message", (data: unknown) => adapter.onmessage?.({ data }));
  worker.on("error", (e: unknown) => {
    failed(e);
    adapter.onerror?.(e);
  });
  worker.unref();
  return adapter;
}

interface Restore {
  (): void;
}

/** Installs the shims for a threaded start; returns the function that removes them. */
function _shim(threads: number, failed: (e: unknown) => void): Restore {
  const g = globalThis as unknown as {
    Blob: typeof Blob;
    Worker: typeof Worker;
    process?: { versions?: Record<string, string | undefined> };
  };
  const OriginalBlob = g.Blob;
  const OriginalWorker = g.Worker;
  const originalCreate = URL.createObjectURL;
  const versions = g.process?.versions;
  const node = versions?.node;
  const texts: string[] = [];
  const byUrl = new Map<string, string>();
  const byBlob = new WeakMap<Blob, string>();

  g.Blob = class extends OriginalBlob {
    constructor(parts?: BlobPart[], options?: BlobPropertyBag) {
      super(parts, options);
      if (parts?.every((p) => typeof p === "string")) {
        const text = parts.join("");
        byBlob.set(this, text);
        texts.push(text);
      }
    }
  };
  URL.createObjectURL = (obj: Blob): string => {
    const url = originalCreate(obj);
    const text = byBlob.get(obj);
    if (text !== undefined) byUrl.set(url, text);
    return url;
  };
  g.Worker = function (url: string | URL): _ThreadWorker {
    const script = byUrl.get(String(url));
    const main = texts.find((t) => t.startsWith("var WasmBackendModuleThreadedSimd"));
    if (script === undefined || main === undefined) {
      throw new Error(`fitloop's thread shim does not know the worker script ${url}`);
    }
    return _threadWorker(script, main, failed);
  } as unknown as typeof Worker;
  if (versions) versions.node = undefined;
  Object.defineProperty(globalThis.navigator, "hardwareConcurrency", {
    value: 2 * threads,
    configurable: true,
  });

  return () => {
    g.Blob = OriginalBlob;
    g.Worker = OriginalWorker;
    URL.createObjectURL = originalCreate;
    if (versions) versions.node = node;
    delete (globalThis.navigator as { hardwareConcurrency?: number }).hardwareConcurrency;
  };
}

async function _withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not finish in ${ms / 1000} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts the wasm backend with `threads` XNNPACK threads (the shims above). Resolves to
 * the threads running, or rejects with the reason it could not start them; the caller
 * then starts the backend single-threaded.
 */
export async function _startThreaded(
  pkg: WasmPackage,
  threads: number,
  dist: string,
): Promise<number> {
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", true);
  pkg.setWasmPaths(dist, true);
  pkg.setThreadsCount(threads);
  let workerFailed: (e: unknown) => void = () => {};
  const workerFailure = new Promise<never>((_, reject) => {
    workerFailed = (e) => reject(e instanceof Error ? e : new Error(`a WASM thread failed: ${e}`));
  });
  workerFailure.catch(() => {}); // only raced below
  const restore = _shim(threads, (e) => workerFailed(e));
  // emscripten binds console.warn when the module starts: hand it one that drops its
  // advice about blocking the main thread (XNNPACK's main thread waits for its workers
  // by design; Deno's main thread may block)
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!String(args[0]).startsWith("Blocking on the main thread")) warn(...args);
  };
  try {
    const failed = await _withTimeout(
      _setBackend("wasm", workerFailure),
      START_TIMEOUT_MS,
      "the threaded start",
    );
    if (failed) throw new Error(failed);
  } catch (e) {
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    pkg.setThreadsCount(-1);
    throw e;
  } finally {
    console.warn = warn;
    restore();
  }
  return pkg.getThreadsCount();
}

/**
 * Milliseconds a probe convolution takes on the active backend (the median of 5, after
 * a warm-up): XNNPACK's threads help on an idle machine and hurt on a busy one, where a
 * thread that waits for a core stalls every parallel kernel.
 */
export async function _probe(): Promise<number> {
  const x = tf.ones([16, 14, 14, 16]) as tf.Tensor4D;
  const w = tf.fill([3, 3, 16, 32], 0.01) as tf.Tensor4D;
  const run = async (): Promise<number> => {
    const t0 = performance.now();
    const y = tf.conv2d(x, w, 1, "same");
    await y.data();
    const ms = performance.now() - t0;
    y.dispose();
    return ms;
  };
  try {
    await run();
    await run();
    const times: number[] = [];
    for (let i = 0; i < 5; i++) times.push(await run());
    return times.sort((a, b) => a - b)[2]!;
  } finally {
    tf.dispose([x, w]);
  }
}

/** Forgets the started wasm backend (and its threads) so that it can start again. */
export function _forgetWasm(): void {
  const entry = (tf.engine() as unknown as {
    registryFactory: Record<string, { factory: () => unknown; priority: number }>;
  }).registryFactory["wasm"];
  if (!entry) return;
  const { factory, priority } = entry;
  tf.removeBackend("wasm");
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
  tf.registerBackend("wasm", factory as Parameters<typeof tf.registerBackend>[1], priority);
}
