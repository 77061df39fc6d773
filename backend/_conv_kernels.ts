// Convolution gradients for tfjs's WASM backend, built on its XNNPACK convolutions:
//
// - Conv2DBackpropInput: dx is the full correlation of dy (spread with zeros by the
//   stride) with the spatially flipped filter, channels swapped: one XNNPACK Conv2D.
//   (tfjs-wasm's own kernel is a plain loop, about 10x slower.)
// - Conv2DBackpropFilter: dW is a convolution of the transposed input (batch as channels)
//   with the transposed output gradient as filter, stride and dilation swapped.
// - DepthwiseConv2dNativeBackpropFilter / -Input: the same ideas with depthwise
//   convolutions.
import type * as tf from "@tensorflow/tfjs";
import {
  _convInfo,
  _crop4,
  _f32,
  _withScratch,
  type ConvAttrs,
  type Info,
  type KernelArgs,
  type WasmBackend,
} from "./_wasm.ts";
import { _ptr, _simd, type Simd } from "./_simd.ts";

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

/**
 * Where the output gradient lands for a transposed convolution computed as a stride-1
 * correlation: dy's row i goes to row `i * stride - cut` of a zero buffer of `rows` rows,
 * and the correlation pads it by `before` / `after`. Rows of dy that only reach beyond
 * the input are cut, so `before` and `after` are never negative.
 */
interface Placement {
  readonly cut: number;
  readonly rows: number;
  readonly before: number;
  readonly after: number;
}

function _place(inLen: number, outLen: number, f: number, s: number, d: number, pad: number) {
  const reach = (f - 1) * d;
  const before0 = reach - pad;
  const cut = Math.max(0, -before0);
  const before = Math.max(0, before0);
  const rows = Math.min((outLen - 1) * s + 1 - cut, inLen + reach - before);
  return { cut, rows, before, after: inLen + reach - rows - before } satisfies Placement;
}

/** dy `[N, OH, OW, C]` placed on a zero grid (spread by the strides, cut as `rh`/`rw` say). */
function _spread(
  src: Float32Array,
  dst: Float32Array,
  n: number,
  oh: number,
  ow: number,
  c: number,
  sh: number,
  sw: number,
  rh: Placement,
  rw: Placement,
): void {
  dst.fill(0);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      const r = i * sh - rh.cut;
      if (r < 0 || r >= rh.rows) continue;
      for (let j = 0; j < ow; j++) {
        const q = j * sw - rw.cut;
        if (q < 0 || q >= rw.rows) continue;
        const from = ((b * oh + i) * ow + j) * c;
        dst.set(src.subarray(from, from + c), ((b * rh.rows + r) * rw.rows + q) * c);
      }
    }
  }
}

/**
 * dx as a matrix product and a scatter: cols = dy · Wᵀ ([N·OH·OW, fh·fw·ci], one XNNPACK
 * 1x1 convolution, threaded), then each row added into the input positions it came from
 * (fitloop's SIMD col2im). Exact work, where the full correlation would also multiply
 * the zeros around dy and between its strided rows.
 */
function _inputGradGemm(
  simd: Simd,
  backend: unknown,
  dy: Info,
  filter: Info,
  c: tf.backend_util.Conv2DInfo,
  inputShape: number[],
): Info {
  const [n, h, w, ci] = inputShape as [number, number, number, number];
  const [fh, fw, , co] = filter.shape as [number, number, number, number];
  const p = n * c.outHeight * c.outWidth;
  const kk = fh * fw * ci;
  return _withScratch(backend, (k) => {
    const dx = k.make([n, h, w, ci]);
    _f32(k.backend, dx).fill(0);
    if (p === 0) return dx;
    const wt = k.make([1, 1, co, kk]); // wt[o, (kh, kw, c)] = W[kh, kw, c, o]
    const wv = _f32(k.backend, filter);
    const tv = _f32(k.backend, wt);
    for (let r = 0; r < kk; r++) for (let o = 0; o < co; o++) tv[o * kk + r] = wv[r * co + o]!;
    const cols = k.run("Conv2D", { x: k.reshape(dy, [1, 1, p, co]), filter: wt }, {
      strides: [1, 1],
      dilations: [1, 1],
      pad: "valid",
      dataFormat: "NHWC",
    }); // [1, 1, P, fh * fw * ci]
    const b = k.backend;
    simd.col2im(
      _ptr(b, cols),
      _ptr(b, dx),
      n,
      h,
      w,
      ci,
      c.outHeight,
      c.outWidth,
      fh,
      fw,
      c.strideHeight,
      c.strideWidth,
      c.dilationHeight,
      c.dilationWidth,
      c.padInfo.top,
      c.padInfo.left,
    );
    return dx;
  });
}

export function conv2DBackpropInput({ inputs, attrs, backend }: KernelArgs): Info {
  const { dy, filter } = inputs as { dy: Info; filter: Info };
  const a = attrs as unknown as ConvAttrs & { inputShape: number[] };
  const c = _convInfo("Conv2DBackpropInput", a.inputShape, filter.shape, a, false);
  const [n, h, w, ci] = a.inputShape as [number, number, number, number];
  const [fh, fw, , co] = filter.shape as [number, number, number, number];
  const [oh, ow] = [c.outHeight, c.outWidth];
  const [sh, sw, dh, dw] = [c.strideHeight, c.strideWidth, c.dilationHeight, c.dilationWidth];
  // The full correlation multiplies (H·W)/(OH·OW) times the needed products (more with
  // strides): from 1.25 times on the GEMM and scatter form wins (measured 12 % faster at
  // 1.4, 2.5x at 2.8), as long as its [N·OH·OW, fh·fw·ci] buffer stays moderate.
  const waste = (h * w) / (oh * ow);
  const colsSize = n * oh * ow * fh * fw * ci;
  const simd = waste >= 1.25 && colsSize <= 1 << 24 ? _simd(backend as WasmBackend) : undefined;
  if (simd) return _inputGradGemm(simd, backend, dy, filter, c, a.inputShape);
  const rh = _place(h, oh, fh, sh, dh, c.padInfo.top);
  const rw = _place(w, ow, fw, sw, dw, c.padInfo.left);
  return _withScratch(backend, (k) => {
    if (rh.rows <= 0 || rw.rows <= 0) {
      const zeros = k.make([n, h, w, ci]);
      _f32(k.backend, zeros).fill(0);
      return zeros;
    }
    // the filter flipped in space, input and output channels swapped: [fh, fw, co, ci]
    const flipped = k.make([fh, fw, co, ci]);
    const plain = sh === 1 && sw === 1 && rh.cut === 0 && rw.cut === 0 &&
      rh.rows === oh && rw.rows === ow;
    const placed = plain ? dy : k.make([n, rh.rows, rw.rows, co]);
    const wv = _f32(k.backend, filter);
    const fv = _f32(k.backend, flipped);
    for (let y = 0; y < fh; y++) {
      for (let x = 0; x < fw; x++) {
        const from = ((fh - 1 - y) * fw + (fw - 1 - x)) * ci * co;
        const to = (y * fw + x) * co * ci;
        for (let i = 0; i < ci; i++) {
          for (let o = 0; o < co; o++) fv[to + o * ci + i] = wv[from + i * co + o]!;
        }
      }
    }
    if (!plain) {
      _spread(_f32(k.backend, dy), _f32(k.backend, placed), n, oh, ow, co, sh, sw, rh, rw);
    }
    return k.run("Conv2D", { x: placed, filter: flipped }, {
      strides: [1, 1],
      dilations: [dh, dw],
      pad: [[0, 0], [rh.before, rh.after], [rw.before, rw.after], [0, 0]],
      dataFormat: "NHWC",
    });
  });
}

/**
 * dW with fitloop's SIMD tiles: for each filter position, the products of the input
 * pixels it saw with the output gradient, summed over the batch and the output, in
 * registers (no transposes, no packing). Output channels must be a multiple of 4.
 */
function _filterGradSimd(
  simd: Simd,
  b: WasmBackend,
  x: Info,
  dy: Info,
  c: tf.backend_util.Conv2DInfo,
): Info {
  const [n, h, w, ci] = x.shape as [number, number, number, number];
  const { outHeight: oh, outWidth: ow, outChannels: co, filterHeight: fh, filterWidth: fw } = c;
  const [sh, sw, dh, dw] = [c.strideHeight, c.strideWidth, c.dilationHeight, c.dilationWidth];
  const out = b.makeOutput([fh, fw, ci, co], "float32");
  const [xp, dyp, outp] = [_ptr(b, x), _ptr(b, dy), _ptr(b, out)];
  // valid outputs [lo, hi) of a filter offset `off` along an axis of length `len`
  const range = (off: number, s: number, len: number, outLen: number): [number, number] => {
    const lo = Math.max(0, Math.ceil(-off / s));
    const hi = Math.min(outLen, Math.ceil((len - off) / s));
    return [lo, Math.max(lo, hi)];
  };
  for (let kh = 0; kh < fh; kh++) {
    const offR = kh * dh - c.padInfo.top;
    const [iLo, iHi] = range(offR, sh, h, oh);
    for (let kw = 0; kw < fw; kw++) {
      const offC = kw * dw - c.padInfo.left;
      const [jLo, jHi] = range(offC, sw, w, ow);
      const base = outp + (kh * fw + kw) * ci * co * 4;
      for (let c0 = 0; c0 < ci;) {
        const kb = c0 + 2 <= ci ? 2 : 1;
        for (let o0 = 0; o0 < co;) {
          const vb = o0 + 16 <= co ? 4 : 1;
          simd[`filterGrad${kb}x${vb}`]!(
            xp,
            dyp,
            base,
            n,
            h,
            w,
            ci,
            oh,
            ow,
            co,
            sh,
            sw,
            offR,
            offC,
            iLo,
            iHi,
            jLo,
            jHi,
            c0,
            o0,
          );
          o0 += 4 * vb;
        }
        c0 += kb;
      }
    }
  }
  return out;
}

export function conv2DBackpropFilter({ inputs, attrs, backend }: KernelArgs): Info {
  const { x, dy } = inputs as { x: Info; dy: Info };
  const a = attrs as unknown as ConvAttrs & { filterShape: number[] };
  const c = _convInfo("Conv2DBackpropFilter", x.shape, a.filterShape, a, false);
  const simd = c.outChannels % 4 === 0 ? _simd(backend as WasmBackend) : undefined;
  if (simd) return _filterGradSimd(simd, backend as WasmBackend, x, dy, c);
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
    const cropped = _crop4(k, conv, 0, fh, 0, fw);
    return k.run("Transpose", { x: cropped }, { perm: [1, 2, 0, 3] });
  });
}

export function depthwiseBackpropFilter({ inputs, attrs, backend }: KernelArgs): Info {
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
    const z = k.reshape(xT, [1, h, w, ch * n]);
    // filter channel (c, n), multiplier m, holds dy[n, :, :, c * M + m]
    const dy5 = k.reshape(dy, [n, oh, ow, ch, m]);
    const dyT = k.run("Transpose", { x: dy5 }, { perm: [1, 2, 3, 0, 4] }); // [OH, OW, C, N, M]
    const filter = k.reshape(dyT, [oh, ow, ch * n, m]);
    const conv = k.run("DepthwiseConv2dNative", { x: z, filter }, {
      strides: [c.dilationHeight, c.dilationWidth],
      dilations: [c.strideHeight, c.strideWidth],
      pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
    }); // [1, >= fh, >= fw, C * N * M]
    const cropped = _crop4(k, conv, 0, fh, 0, fw);
    const per = k.reshape(cropped, [fh, fw, ch, n, m]);
    return k.run("Sum", { x: per }, { axis: [3], keepDims: false }); // [fh, fw, C, M]
  });
}

export function depthwiseBackpropInput({ inputs, attrs, backend }: KernelArgs): Info {
  const { dy, filter } = inputs as { dy: Info; filter: Info };
  const a = attrs as unknown as ConvAttrs & { inputShape: number[] };
  const c = _convInfo("DepthwiseConv2dNativeBackpropInput", a.inputShape, filter.shape, a, true);
  const [n, h, w, ch] = a.inputShape as [number, number, number, number];
  const [fh, fw, , m] = filter.shape as [number, number, number, number];
  const [oh, ow] = [c.outHeight, c.outWidth];
  const [sh, sw, dh, dw] = [c.strideHeight, c.strideWidth, c.dilationHeight, c.dilationWidth];
  const rh = _place(h, oh, fh, sh, dh, c.padInfo.top);
  const rw = _place(w, ow, fw, sw, dw, c.padInfo.left);
  return _withScratch(backend, (k) => {
    if (rh.rows <= 0 || rw.rows <= 0) {
      const zeros = k.make([n, h, w, ch]);
      _f32(k.backend, zeros).fill(0);
      return zeros;
    }
    const plain = sh === 1 && sw === 1 && rh.cut === 0 && rw.cut === 0 &&
      rh.rows === oh && rw.rows === ow;
    const placed = plain ? dy : k.make([n, rh.rows, rw.rows, ch * m]);
    if (!plain) {
      _spread(_f32(k.backend, dy), _f32(k.backend, placed), n, oh, ow, ch * m, sh, sw, rh, rw);
    }
    const flipped = k.run("Reverse", { x: filter }, { dims: [0, 1] });
    const perChannel = k.reshape(flipped, [fh, fw, ch * m, 1]);
    const conv = k.run("DepthwiseConv2dNative", { x: placed, filter: perChannel }, {
      strides: [1, 1],
      dilations: [dh, dw],
      pad: [[0, 0], [rh.before, rh.after], [rw.before, rw.after], [0, 0]],
    }); // [N, H, W, C * M]
    if (m === 1) return conv;
    const byMult = k.reshape(conv, [n, h, w, ch, m]);
    return k.run("Sum", { x: byMult }, { axis: [4], keepDims: false });
  });
}
