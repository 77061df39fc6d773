// Small WASM kernels where tfjs-wasm copies or is wrong:
//
// - Identity and same-dtype Cast share the input's data (one more reference on the
//   backend's count) instead of copying it; Cast to bool is `x != 0` (tfjs-wasm
//   truncates, so 0.5 became false).
// - Sum over leading axes (bias gradients: all axes but the channels) is one pass of
//   column sums in float64, where tfjs-wasm first transposes the input.
// - OneHot writes the requested dtype (tfjs-wasm writes int32 bits into float32
//   outputs: 1.4e-45 instead of 1).
// - UnsortedSegmentSum (the gradient of gather), which tfjs-wasm lacks.
import * as tf from "@tensorflow/tfjs";
import { _callTfjs, type Info, type KernelArgs, type WasmBackend } from "./_wasm.ts";
import { _ptr, _simd } from "./_simd.ts";

export function identity(args: KernelArgs): Info {
  const x = args.inputs.x as Info;
  if (x.dtype === "string") return _callTfjs("Identity", args);
  (args.backend as WasmBackend).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export function cast(args: KernelArgs): Info {
  const x = args.inputs.x as Info;
  const dtype = (args.attrs as unknown as { dtype: tf.DataType }).dtype;
  const b = args.backend as WasmBackend;
  if (x.dtype === dtype) {
    b.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype };
  }
  const numeric = ["float32", "int32", "bool"];
  if (!numeric.includes(x.dtype) || !numeric.includes(dtype)) return _callTfjs("Cast", args);
  const out = b.makeOutput(x.shape, dtype);
  const src = b.typedArrayFromHeap(x);
  const dst = b.typedArrayFromHeap(out);
  if (dtype === "bool") {
    // NaN != 0, as on the cpu backend
    for (let i = 0; i < src.length; i++) dst[i] = src[i] !== 0 ? 1 : 0;
  } else {
    dst.set(src);
  }
  return out;
}

/** The reduced axes as `[0, k)` when they are the leading axes (not all of them). */
function _leadingAxes(axis: number | number[] | null, rank: number): number | undefined {
  if (axis === null || axis === undefined) return undefined; // all axes
  const axes = (typeof axis === "number" ? [axis] : axis).map((a) => (a < 0 ? a + rank : a));
  const sorted = [...new Set(axes)].sort((p, q) => p - q);
  if (sorted.length === 0 || sorted.length >= rank) return undefined;
  return sorted.every((a, i) => a === i) ? sorted.length : undefined;
}

export function sum(args: KernelArgs): Info {
  const x = args.inputs.x as Info;
  const { axis, keepDims } = args.attrs as unknown as {
    axis: number | number[] | null;
    keepDims: boolean;
  };
  const k = _leadingAxes(axis, x.shape.length);
  if (k === undefined || x.dtype !== "float32") return _callTfjs("Sum", args);
  const b = args.backend as WasmBackend;
  const kept = x.shape.slice(k);
  const cols = tf.util.sizeFromShape(kept);
  const rows = tf.util.sizeFromShape(x.shape.slice(0, k));
  const out = b.makeOutput(
    keepDims ? [...x.shape.slice(0, k).map(() => 1), ...kept] : kept,
    "float32",
  );
  const simd = _simd(b);
  if (simd) {
    const acc = b.makeOutput([2 * cols], "float32"); // cols float64 accumulators
    simd.sumRows(_ptr(b, x), _ptr(b, acc), _ptr(b, out), rows, cols);
    b.disposeData(acc.dataId);
    return out;
  }
  const src = b.typedArrayFromHeap(x) as Float32Array;
  const acc = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let j = 0; j < cols; j++) acc[j] = acc[j]! + src[base + j]!;
  }
  (b.typedArrayFromHeap(out) as Float32Array).set(acc);
  return out;
}

export function oneHot({ inputs, attrs, backend }: KernelArgs): Info {
  const indices = inputs.indices as Info;
  const { depth, onValue, offValue, dtype } = attrs as unknown as {
    depth: number;
    onValue: number;
    offValue: number;
    dtype: tf.DataType;
  };
  const b = backend as WasmBackend;
  const out = b.makeOutput([...indices.shape, depth], dtype);
  const ids = b.typedArrayFromHeap(indices);
  const dst = b.typedArrayFromHeap(out);
  dst.fill(offValue);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (id >= 0 && id < depth) dst[i * depth + id] = onValue;
  }
  return out;
}

export function unsortedSegmentSum({ inputs, attrs, backend }: KernelArgs): Info {
  const { x, segmentIds } = inputs as { x: Info; segmentIds: Info };
  const numSegments = (attrs as unknown as { numSegments: number }).numSegments;
  const b = backend as WasmBackend;
  const inner = tf.util.sizeFromShape(x.shape.slice(segmentIds.shape.length));
  const out = b.makeOutput([numSegments, ...x.shape.slice(segmentIds.shape.length)], x.dtype);
  const values = b.typedArrayFromHeap(x);
  const ids = b.typedArrayFromHeap(segmentIds);
  const dst = b.typedArrayFromHeap(out);
  dst.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const seg = ids[i]!;
    if (seg < 0 || seg >= numSegments) continue;
    const from = i * inner;
    const to = seg * inner;
    for (let j = 0; j < inner; j++) dst[to + j] = dst[to + j]! + values[from + j]!;
  }
  return out;
}
