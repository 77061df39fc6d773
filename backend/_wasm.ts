// Private plumbing of fitloop's WASM kernels: the slice of tfjs-backend-wasm's backend
// they use, a scratch that runs tfjs's own WASM kernels and frees every intermediate,
// views on the WASM heap, and the convolution geometry.
import * as tf from "@tensorflow/tfjs";

export type Info = tf.TensorInfo;

/** The parts of tfjs-backend-wasm's `BackendWasm` the kernels use. */
export interface WasmBackend {
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
  makeOutput(shape: number[], dtype: tf.DataType): Info;
  typedArrayFromHeap(info: Info): Float32Array | Int32Array | Uint8Array;
}

/** What tfjs passes to a kernel function. */
export interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  attrs?: tf.NamedAttrMap;
  backend: unknown;
}

/** A kernel as fitloop registers it: the function and, optionally, its setup. */
export interface KernelImpl {
  readonly kernelFunc: (args: KernelArgs) => Info;
  readonly setupFunc?: (backend: unknown) => void;
}

/**
 * tfjs's own WASM kernels as registered when fitloop first replaced one, so that a
 * replacement can hand the cases it does not speed up back to the original.
 */
const _originals = new Map<string, tf.KernelConfig>();

/** Remembers tfjs's kernel `name` before fitloop replaces it (once). */
export function _keepOriginal(name: string): void {
  if (_originals.has(name)) return;
  const k = tf.getKernel(name, "wasm");
  if (k) _originals.set(name, k);
}

/** tfjs's own kernel `name` (the original when fitloop replaced it). */
export function _tfjsKernel(name: string): tf.KernelConfig {
  const k = _originals.get(name) ?? tf.getKernel(name, "wasm");
  if (!k) throw new Error(`fitloop's WASM kernels need tfjs-wasm's kernel '${name}'`);
  return k;
}

/** Runs tfjs's original kernel `name` on the given arguments. */
export function _callTfjs(name: string, args: KernelArgs): Info {
  return _tfjsKernel(name).kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0]) as Info;
}

/** Runs WASM kernels and frees every intermediate but the result. */
export class _Scratch {
  readonly backend: WasmBackend;
  readonly #temps: Info[] = [];

  constructor(backend: WasmBackend) {
    this.backend = backend;
  }

  /** tfjs's original kernel `name` on `inputs`; its output is freed by `done`/`fail`. */
  run(name: string, inputs: Record<string, Info>, attrs: Record<string, unknown>): Info {
    const out = _callTfjs(name, {
      inputs: inputs as tf.NamedTensorInfoMap,
      attrs: attrs as tf.NamedAttrMap,
      backend: this.backend,
    });
    this.#temps.push(out);
    return out;
  }

  /** A new zero-initialised-by-caller tensor on the heap, freed by `done`/`fail`. */
  make(shape: number[], dtype: tf.DataType = "float32"): Info {
    const out = this.backend.makeOutput(shape, dtype);
    this.#temps.push(out);
    return out;
  }

  /** Same data, another shape (no copy; the backend counts the extra reference). */
  reshape(x: Info, shape: number[]): Info {
    this.backend.incRef(x.dataId);
    const out = { dataId: x.dataId, shape, dtype: x.dtype };
    this.#temps.push(out);
    return out;
  }

  /** Frees the intermediates and returns `result`. */
  done(result: Info): Info {
    for (const t of this.#temps) if (t !== result) this.backend.disposeData(t.dataId);
    return result;
  }

  /** Frees all intermediates (after an error). */
  fail(): void {
    for (const t of this.#temps) this.backend.disposeData(t.dataId);
  }
}

/** Runs `body` with a scratch; frees its intermediates whatever happens. */
export function _withScratch(backend: unknown, body: (k: _Scratch) => Info): Info {
  const k = new _Scratch(backend as WasmBackend);
  try {
    return k.done(body(k));
  } catch (e) {
    k.fail();
    throw e;
  }
}

/**
 * A float32 view of a tensor on the WASM heap. Take views only after the last
 * allocation of a kernel: an allocation may grow the heap and detach earlier views.
 */
export function _f32(backend: WasmBackend, x: Info): Float32Array {
  return backend.typedArrayFromHeap(x) as Float32Array;
}

/**
 * `x` ([N, H, W, C]) cut to rows `[r0, r0 + rows)` and columns `[c0, c0 + cols)`,
 * copied row by row (tfjs-wasm's Slice first copies the whole source out of the heap).
 */
export function _crop4(
  k: _Scratch,
  x: Info,
  r0: number,
  rows: number,
  c0: number,
  cols: number,
): Info {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  if (r0 === 0 && c0 === 0 && rows === h && cols === w) return x;
  const out = k.make([n, rows, cols, c], x.dtype);
  const src = k.backend.typedArrayFromHeap(x);
  const dst = k.backend.typedArrayFromHeap(out);
  const len = cols * c;
  let o = 0;
  for (let b = 0; b < n; b++) {
    for (let r = 0; r < rows; r++) {
      const from = ((b * h + r0 + r) * w + c0) * c;
      dst.set(src.subarray(from, from + len), o);
      o += len;
    }
  }
  return out;
}

export type Pair = [number, number];

export function _pair(v: number | number[] | undefined): Pair {
  if (v === undefined) return [1, 1];
  return typeof v === "number" ? [v, v] : [v[0]!, v[1] ?? v[0]!];
}

export interface ConvAttrs {
  strides: number | [number, number];
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dataFormat?: string;
  dimRoundingMode?: "floor" | "round" | "ceil";
  dilations?: number | number[];
}

export function _checkNhwc(name: string, dataFormat: unknown): void {
  if (dataFormat !== undefined && dataFormat !== "NHWC" && dataFormat !== "channelsLast") {
    throw new Error(`fitloop's WASM ${name} supports NHWC only: got dataFormat '${dataFormat}'`);
  }
}

/** NHWC check and the forward convolution's geometry. */
export function _convInfo(
  kernel: string,
  inputShape: number[],
  filterShape: number[],
  a: ConvAttrs,
  depthwise: boolean,
): tf.backend_util.Conv2DInfo {
  _checkNhwc(kernel, a.dataFormat);
  return tf.backend_util.computeConv2DInfo(
    inputShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    a.strides,
    _pair(a.dilations),
    a.pad,
    a.dimRoundingMode,
    depthwise,
    "channelsLast",
  );
}
