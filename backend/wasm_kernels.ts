/**
 * Training kernels for tfjs's WASM backend. tfjs-backend-wasm 4.22 registers the forward
 * kernels of convolutions but not all of their gradients, so `model.fit` (and any
 * training) of a CNN fails there with "Kernel 'Conv2DBackpropFilter' not registered for
 * backend 'wasm'". fitloop registers the missing ones, built from WASM's own fast
 * kernels (XNNPACK convolutions, transposes, pads) where possible:
 *
 * - `Conv2DBackpropFilter`: dW is a convolution of the transposed input (batch as
 *   channels) with the transposed output gradient as filter, stride and dilation swapped.
 * - `DepthwiseConv2dNativeBackpropFilter`: the same idea as one depthwise convolution
 *   over `channels × batch` input channels, summed over the batch.
 * - `DepthwiseConv2dNativeBackpropInput`: a depthwise convolution of the (stride-dilated,
 *   padded) output gradient with the spatially flipped filter, summed over the multiplier.
 * - `UnsortedSegmentSum` (the gradient of `gather`, so of Embedding layers): a direct loop.
 *
 * Kernels are registered only where tfjs has none (a kernel tfjs ships is never
 * replaced), and every intermediate is freed.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

type Info = tf.TensorInfo;
type Pair = [number, number];

interface WasmBackend {
  disposeData(dataId: object, force?: boolean): boolean;
  readSync(dataId: object): ArrayLike<number>;
  makeOutput(shape: number[], dtype: tf.DataType): Info;
  typedArrayFromHeap(info: Info): Float32Array | Int32Array | Uint8Array;
}

/** Runs WASM kernels and frees every intermediate but the result. */
class _Scratch {
  readonly backend: WasmBackend;
  readonly #temps: Info[] = [];

  constructor(backend: WasmBackend) {
    this.backend = backend;
  }

  run(name: string, inputs: Record<string, Info>, attrs: Record<string, unknown>): Info {
    const kernel = tf.getKernel(name, "wasm");
    if (!kernel) throw new Error(`fitloop's WASM kernels need the WASM kernel '${name}'`);
    const out = kernel.kernelFunc({
      inputs: inputs as tf.NamedTensorInfoMap,
      attrs: attrs as tf.NamedAttrMap,
      backend: this.backend,
    }) as Info;
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

function _withScratch(backend: unknown, body: (k: _Scratch) => Info): Info {
  const k = new _Scratch(backend as WasmBackend);
  try {
    return k.done(body(k));
  } catch (e) {
    k.fail();
    throw e;
  }
}

function _pair(v: number | number[] | undefined): Pair {
  if (v === undefined) return [1, 1];
  return typeof v === "number" ? [v, v] : [v[0]!, v[1] ?? v[0]!];
}

/** `x` sliced to `size` from the origin, when it is larger. */
function _crop(k: _Scratch, x: Info, size: number[]): Info {
  if (x.shape.every((d, i) => d === size[i])) return x;
  return k.run("Slice", { x }, { begin: size.map(() => 0), size });
}

function _checkNhwc(name: string, dataFormat: unknown): void {
  if (dataFormat !== undefined && dataFormat !== "NHWC" && dataFormat !== "channelsLast") {
    throw new Error(`fitloop's WASM ${name} supports NHWC only: got dataFormat '${dataFormat}'`);
  }
}

interface ConvAttrs {
  strides: number | [number, number];
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dataFormat?: string;
  dimRoundingMode?: "floor" | "round" | "ceil";
  dilations?: number | number[];
}

/**
 * Padding for a filter gradient computed as a convolution of the input with the output
 * gradient: the forward padding on top/left, and on bottom/right as much as makes the
 * result at least filter-sized (it is cropped to the filter afterwards).
 */
function _filterGradPads(
  c: tf.backend_util.Conv2DInfo,
): { top: number; bottom: number; left: number; right: number } {
  const { top, left } = c.padInfo;
  const span = (f: number, d: number, o: number, s: number) => (f - 1) * d + (o - 1) * s + 1;
  return {
    top,
    left,
    bottom: Math.max(
      0,
      span(c.filterHeight, c.dilationHeight, c.outHeight, c.strideHeight) - c.inHeight - top,
    ),
    right: Math.max(
      0,
      span(c.filterWidth, c.dilationWidth, c.outWidth, c.strideWidth) - c.inWidth - left,
    ),
  };
}

/** What tfjs passes to a kernel function. */
interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  attrs?: tf.NamedAttrMap;
  backend: unknown;
}

/** NHWC check and the forward convolution's geometry. */
function _convInfo(
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

function conv2DBackpropFilter({ inputs, attrs, backend }: KernelArgs): Info {
  const { x, dy } = inputs as { x: Info; dy: Info };
  const a = attrs as unknown as ConvAttrs & { filterShape: number[] };
  const c = _convInfo("Conv2DBackpropFilter", x.shape, a.filterShape, a, false);
  return _withScratch(backend, (k) => {
    const { top, bottom, left, right } = _filterGradPads(c);
    const [fh, fw] = [c.filterHeight, c.filterWidth];
    const xT = k.run("Transpose", { x }, { perm: [3, 1, 2, 0] }); // [Ci, H, W, N]
    const dyT = k.run("Transpose", { x: dy }, { perm: [1, 2, 0, 3] }); // [OH, OW, N, Co]
    const conv = k.run("Conv2D", { x: xT, filter: dyT }, {
      strides: [c.dilationHeight, c.dilationWidth],
      dilations: [c.strideHeight, c.strideWidth],
      pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
      dataFormat: "NHWC",
    }); // [Ci, >= fh, >= fw, Co]
    const cropped = _crop(k, conv, [c.inChannels, fh, fw, c.outChannels]);
    return k.run("Transpose", { x: cropped }, { perm: [1, 2, 0, 3] });
  });
}

function depthwiseBackpropFilter({ inputs, attrs, backend }: KernelArgs): Info {
  const { x, dy } = inputs as { x: Info; dy: Info };
  const a = attrs as unknown as ConvAttrs & { filterShape: number[] };
  const c = _convInfo("DepthwiseConv2dNativeBackpropFilter", x.shape, a.filterShape, a, true);
  const [n, h, w, ch] = x.shape as [number, number, number, number];
  const m = a.filterShape[3]!;
  const [oh, ow] = [c.outHeight, c.outWidth];
  return _withScratch(backend, (k) => {
    const { top, bottom, left, right } = _filterGradPads(c);
    const [fh, fw] = [c.filterHeight, c.filterWidth];
    // input channel (c, n) holds x[n, :, :, c]
    const xT = k.run("Transpose", { x }, { perm: [1, 2, 3, 0] }); // [H, W, C, N]
    const z = k.run("Reshape", { x: xT }, { shape: [1, h, w, ch * n] });
    // filter channel (c, n), multiplier m, holds dy[n, :, :, c * M + m]
    const dy5 = k.run("Reshape", { x: dy }, { shape: [n, oh, ow, ch, m] });
    const dyT = k.run("Transpose", { x: dy5 }, { perm: [1, 2, 3, 0, 4] }); // [OH, OW, C, N, M]
    const filter = k.run("Reshape", { x: dyT }, { shape: [oh, ow, ch * n, m] });
    const conv = k.run("DepthwiseConv2dNative", { x: z, filter }, {
      strides: [c.dilationHeight, c.dilationWidth],
      dilations: [c.strideHeight, c.strideWidth],
      pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
    }); // [1, >= fh, >= fw, C * N * M]
    const [, ch2, cw2] = conv.shape as [number, number, number, number];
    const per = k.run("Reshape", { x: conv }, { shape: [ch2, cw2, ch, n, m] });
    const summed = k.run("Sum", { x: per }, { axis: [3], keepDims: false }); // [>= fh, >= fw, C, M]
    return _crop(k, summed, [fh, fw, ch, m]);
  });
}

function depthwiseBackpropInput({ inputs, attrs, backend }: KernelArgs): Info {
  const { dy, filter } = inputs as { dy: Info; filter: Info };
  const a = attrs as unknown as ConvAttrs & { inputShape: number[] };
  const c = _convInfo("DepthwiseConv2dNativeBackpropInput", a.inputShape, filter.shape, a, true);
  const [n, h, w, ch] = a.inputShape as [number, number, number, number];
  const [fh, fw, , m] = filter.shape as [number, number, number, number];
  const [oh, ow] = [c.outHeight, c.outWidth];
  const [sh, sw] = [c.strideHeight, c.strideWidth];
  const [dh, dw] = [c.dilationHeight, c.dilationWidth];
  return _withScratch(backend, (k) => {
    // Spread dy by the stride: zeros between its rows and columns.
    let dyD = dy;
    if (sh > 1 || sw > 1) {
      const d6 = k.run("Reshape", { x: dy }, { shape: [n, oh, 1, ow, 1, ch * m] });
      const padded = k.run("PadV2", { x: d6 }, {
        paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]],
        constantValue: 0,
      });
      const spread = k.run("Reshape", { x: padded }, { shape: [n, oh * sh, ow * sw, ch * m] });
      dyD = _crop(k, spread, [n, (oh - 1) * sh + 1, (ow - 1) * sw + 1, ch * m]);
    }
    // Full correlation with the flipped filter: pad so that dx[i] sees dy[i + top - k*d].
    let top = (fh - 1) * dh - c.padInfo.top;
    let left = (fw - 1) * dw - c.padInfo.left;
    if (top < 0 || left < 0) {
      const [, rows, cols] = dyD.shape as [number, number, number, number];
      const cutTop = Math.max(0, -top);
      const cutLeft = Math.max(0, -left);
      dyD = k.run("Slice", { x: dyD }, {
        begin: [0, cutTop, cutLeft, 0],
        size: [n, rows - cutTop, cols - cutLeft, ch * m],
      });
      top = Math.max(0, top);
      left = Math.max(0, left);
    }
    const [, rowsD, colsD] = dyD.shape as [number, number, number, number];
    const bottom = Math.max(0, h + (fh - 1) * dh - rowsD - top);
    const right = Math.max(0, w + (fw - 1) * dw - colsD - left);
    const flipped = k.run("Reverse", { x: filter }, { dims: [0, 1] });
    const perChannel = k.run("Reshape", { x: flipped }, { shape: [fh, fw, ch * m, 1] });
    const conv = k.run("DepthwiseConv2dNative", { x: dyD, filter: perChannel }, {
      strides: [1, 1],
      dilations: [dh, dw],
      pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
    }); // [N, >= H, >= W, C * M]
    const [, rh, rw] = conv.shape as [number, number, number, number];
    const byMult = k.run("Reshape", { x: conv }, { shape: [n, rh, rw, ch, m] });
    const summed = k.run("Sum", { x: byMult }, { axis: [4], keepDims: false });
    return _crop(k, summed, [n, h, w, ch]);
  });
}

function unsortedSegmentSum({ inputs, attrs, backend }: KernelArgs): Info {
  const { x, segmentIds } = inputs as { x: Info; segmentIds: Info };
  const numSegments = (attrs as unknown as { numSegments: number }).numSegments;
  const b = backend as WasmBackend;
  const values = b.readSync(x.dataId);
  const ids = b.readSync(segmentIds.dataId);
  const inner = tf.util.sizeFromShape(x.shape.slice(segmentIds.shape.length));
  const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
  const out = b.makeOutput(outShape, x.dtype);
  const dst = b.typedArrayFromHeap(out);
  dst.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const seg = ids[i]!;
    if (seg < 0 || seg >= numSegments) continue;
    const from = i * inner;
    const to = seg * inner;
    for (let j = 0; j < inner; j++) dst[to + j]! += values[from + j]!;
  }
  return out;
}

/**
 * The kernels fitloop adds to the WASM backend, by name.
 *
 * @example
 * ```ts
 * import { WASM_TRAINING_KERNELS } from "@fitloop/fitloop/backend";
 * import { assert } from "@std/assert";
 * assert(WASM_TRAINING_KERNELS.includes("Conv2DBackpropFilter"));
 * ```
 */
export const WASM_TRAINING_KERNELS: readonly string[] = Object.freeze([
  "Conv2DBackpropFilter",
  "DepthwiseConv2dNativeBackpropFilter",
  "DepthwiseConv2dNativeBackpropInput",
  "UnsortedSegmentSum",
]);

const FUNCS: Record<string, tf.KernelFunc> = {
  Conv2DBackpropFilter: conv2DBackpropFilter as tf.KernelFunc,
  DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilter as tf.KernelFunc,
  DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInput as tf.KernelFunc,
  UnsortedSegmentSum: unsortedSegmentSum as tf.KernelFunc,
};

/**
 * Registers fitloop's training kernels for the WASM backend where tfjs has none (never
 * replacing one it has). Safe to call many times; `useBackend("wasm")` and `fit` on the
 * WASM backend call it for you.
 *
 * @returns The names of the kernels this call registered (empty when all were there).
 *
 * @example
 * ```ts
 * import { registerWasmTrainingKernels } from "@fitloop/fitloop/backend";
 * import * as tf from "@tensorflow/tfjs";
 * import { assert } from "@std/assert";
 * registerWasmTrainingKernels();
 * assert(tf.getKernel("Conv2DBackpropFilter", "wasm") !== undefined);
 * ```
 */
export function registerWasmTrainingKernels(): string[] {
  const added: string[] = [];
  for (const kernelName of WASM_TRAINING_KERNELS) {
    if (tf.getKernel(kernelName, "wasm")) continue;
    tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc: FUNCS[kernelName]! });
    added.push(kernelName);
  }
  return added;
}
