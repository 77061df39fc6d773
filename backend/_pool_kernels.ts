// Max-pool gradient for tfjs's WASM backend, a tight loop over the WASM heap with the
// cpu backend's rules: each window sends its gradient to the first pixel (row-major,
// padding excluded) strictly greater than all before it, starting from -Infinity; a
// window of NaN and -Infinity only sends none. tfjs-wasm's own kernel takes the last
// maximum on ties and starts from FLT_MIN, so windows whose maximum is <= 0 lose or
// misplace their gradient.
import * as tf from "@tensorflow/tfjs";
import { _f32, type Info, type KernelArgs, type WasmBackend } from "./_wasm.ts";
import { _ptr, _simd } from "./_simd.ts";

interface PoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: "floor" | "round" | "ceil";
}

export function maxPoolGrad({ inputs, attrs, backend }: KernelArgs): Info {
  const { dy, input } = inputs as { dy: Info; input: Info };
  const a = attrs as unknown as PoolAttrs;
  const c = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    a.filterSize,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
  );
  const b = backend as WasmBackend;
  const [n, h, w, ch] = input.shape as [number, number, number, number];
  const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = c;
  const fh = c.effectiveFilterHeight;
  const fw = c.effectiveFilterWidth;
  const out = b.makeOutput(input.shape, "float32");
  const x = _f32(b, input);
  const g = _f32(b, dy);
  const dx = _f32(b, out);
  // Windows overlap when the stride is below the filter: a pixel may then take the
  // gradient of several windows, summed in float64 as the cpu backend does.
  const overlap = sh < fh || sw < fw;
  const simd = !overlap && ch % 4 === 0 ? _simd(b) : undefined;
  if (simd) {
    dx.fill(0);
    simd.maxPoolGrad(
      _ptr(b, input),
      _ptr(b, dy),
      _ptr(b, out),
      n,
      h,
      w,
      ch,
      oh,
      ow,
      sh,
      sw,
      fh,
      fw,
      c.padInfo.top,
      c.padInfo.left,
    );
    return out;
  }
  const acc = overlap ? new Float64Array(dx.length) : dx;
  if (!overlap) dx.fill(0);
  const best = new Float64Array(ch);
  const at = new Int32Array(ch);
  for (let bi = 0; bi < n; bi++) {
    for (let yr = 0; yr < oh; yr++) {
      const r0 = yr * sh - c.padInfo.top;
      const rMin = Math.max(0, r0);
      const rMax = Math.min(h, r0 + fh);
      for (let yc = 0; yc < ow; yc++) {
        const c0 = yc * sw - c.padInfo.left;
        const cMin = Math.max(0, c0);
        const cMax = Math.min(w, c0 + fw);
        best.fill(-Infinity);
        at.fill(-1);
        for (let r = rMin; r < rMax; r++) {
          for (let q = cMin; q < cMax; q++) {
            const base = ((bi * h + r) * w + q) * ch;
            for (let d = 0; d < ch; d++) {
              const v = x[base + d]!;
              if (v > best[d]!) {
                best[d] = v;
                at[d] = base + d;
              }
            }
          }
        }
        const gBase = ((bi * oh + yr) * ow + yc) * ch;
        for (let d = 0; d < ch; d++) {
          const p = at[d]!;
          if (p >= 0) acc[p] = acc[p]! + g[gBase + d]!;
        }
      }
    }
  }
  if (overlap) dx.set(acc);
  return out;
}
