// BatchMatMul and _FusedMatMul for tfjs's WASM backend, on fitloop's SIMD GEMM
// (`_gemm_wat.ts`): every combination of transposes, batches with broadcasting, any size.
//
// tfjs-wasm multiplies with XNNPACK only without transposes (repacking the right operand
// on every call: ~3–6 GMAC/s here on the MLP's shapes) and falls to a plain triple loop
// with any transposed operand (every gradient of a dense layer: dW = xᵀ·dy, dx = dy·Wᵀ).
// The GEMM packs B into panels and A into tiles (or reads a transposed A in place) and
// runs 6x8 register tiles: ~15 GMAC/s on one core.
//
// Handed back to tfjs: other dtypes; batch shapes tfjs's own kernel sizes inconsistently
// (flattened batches where neither side's batch is the whole output's); fused biases and
// PReLU weights that do not broadcast along the output's last axes; and everything when
// fitloop's SIMD module cannot start (then a transposed operand is transposed in memory
// and multiplied by XNNPACK, as before the GEMM).
import * as tf from "@tensorflow/tfjs";
import {
  _callTfjs,
  _f32,
  type _Scratch,
  _withScratch,
  type Info,
  type KernelArgs,
  type WasmBackend,
} from "./_wasm.ts";
import { _ptr, _simd, type Simd } from "./_simd.ts";
import { GEMM_MR, GEMM_NR } from "./_gemm_wat.ts";

/** A product's geometry: the output shape and, per output batch, where A's and B's lie. */
interface Plan {
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly outShape: number[];
  /** Element offsets of each output batch's A and B matrices. */
  readonly aOffsets: Int32Array;
  readonly bOffsets: Int32Array;
}

/** Element offsets, per index of `outer`, of a batch of shape `dims` broadcast to it. */
function _batchOffsets(dims: number[], outer: number[], matrix: number): Int32Array {
  const total = tf.util.sizeFromShape(outer);
  const offsets = new Int32Array(total);
  const shift = outer.length - dims.length;
  // strides of `dims` in matrices, 0 where broadcast
  const strides = new Array<number>(outer.length).fill(0);
  let s = matrix;
  for (let d = dims.length - 1; d >= 0; d--) {
    strides[d + shift] = dims[d] === 1 ? 0 : s;
    s *= dims[d]!;
  }
  for (let bi = 0; bi < total; bi++) {
    let rest = bi;
    let off = 0;
    for (let d = outer.length - 1; d >= 0; d--) {
      off += (rest % outer[d]!) * strides[d]!;
      rest = Math.floor(rest / outer[d]!);
    }
    offsets[bi] = off;
  }
  return offsets;
}

/** The plan, or undefined for the cases left to tfjs (see the file's comment). */
function _plan(a: Info, b: Info, ta: boolean, tb: boolean): Plan | undefined {
  if (a.dtype !== "float32" || b.dtype !== "float32") return undefined;
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (ra < 2 || rb < 2) return undefined;
  const [a0, a1] = [a.shape[ra - 2]!, a.shape[ra - 1]!];
  const [b0, b1] = [b.shape[rb - 2]!, b.shape[rb - 1]!];
  const [m, k] = ta ? [a1, a0] : [a0, a1];
  const [kb, n] = tb ? [b1, b0] : [b0, b1];
  if (k !== kb) return undefined; // tfjs says why
  const aOuter = a.shape.slice(0, -2);
  const bOuter = b.shape.slice(0, -2);
  let outer: number[];
  try {
    outer = tf.backend_util.assertAndGetBroadcastShape(aOuter, bOuter);
  } catch {
    return undefined; // tfjs says why
  }
  // tfjs's kernels size the output by the larger flattened batch: agree with them where
  // that is the broadcast's size, hand the rest back
  const batch = tf.util.sizeFromShape(outer);
  if (batch !== Math.max(tf.util.sizeFromShape(aOuter), tf.util.sizeFromShape(bOuter))) {
    return undefined;
  }
  return {
    m,
    n,
    k,
    outShape: [...outer, m, n],
    aOffsets: _batchOffsets(aOuter, outer, m * k),
    bOffsets: _batchOffsets(bOuter, outer, k * n),
  };
}

/** out = op(a)·op(b), batch by batch, with fitloop's GEMM (out allocated by the caller). */
function _gemm(
  simd: Simd,
  k: _Scratch,
  a: Info,
  b: Info,
  ta: boolean,
  tb: boolean,
  p: Plan,
  out: Info,
) {
  const { m, n, k: kk } = p;
  const be = k.backend;
  const batches = p.aOffsets.length;
  if (m * n * batches === 0) return;
  if (kk === 0) {
    _f32(be, out).fill(0);
    return;
  }
  const mr = GEMM_MR;
  const nr = GEMM_NR;
  // a transposed A's full tiles are read in place, its last rows packed; a row-major A is
  // read in place
  const mFull = m - (m % mr);
  // B's panels are read as vectors on every k: align them to a cache line (tfjs-wasm's
  // allocations are only 8-byte aligned; misaligned panels measured ~5 % slower)
  const bp = (_ptr(be, k.make([Math.ceil(n / nr) * nr * kk + 16])) + 63) & ~63;
  const ap = ta && m > mFull ? _ptr(be, k.make([mr * kk])) : 0;
  const [aPtr, bPtr, cPtr] = [_ptr(be, a), _ptr(be, b), _ptr(be, out)];
  const ldc = n * 4;
  let lastA = -1;
  let lastB = -1;
  for (let bi = 0; bi < batches; bi++) {
    const aOff = p.aOffsets[bi]!;
    const bOff = p.bOffsets[bi]!;
    const aSrc = aPtr + aOff * 4;
    const c = cPtr + bi * m * n * 4;
    if (bOff !== lastB) {
      // B(k, j) at k·ks + j·cs: [K, N] row-major, or [N, K] when transposed
      simd.packB(bPtr + bOff * 4, bp, kk, n, tb ? 4 : ldc, tb ? kk * 4 : 4);
      lastB = bOff;
    }
    if (!ta) {
      simd.gemmRows(aSrc, kk * 4, mr * kk * 4, m, bp, kk, n, c, ldc);
      continue;
    }
    // A stored [K, M]: A(i, k) at k·M + i
    if (mFull) simd.gemm(aSrc, m * 4, mr * 4, mFull, bp, kk, n, c, ldc);
    if (m > mFull) {
      if (aOff !== lastA) simd.packA(aSrc + mFull * 4, ap, m - mFull, kk, 4, m * 4);
      lastA = aOff;
      simd.gemm(ap, mr * 4, mr * kk * 4, m - mFull, bp, kk, n, c + mFull * ldc, ldc);
    }
  }
}

/**
 * The pre-GEMM path: transpose a transposed operand in memory, then XNNPACK (also the
 * bench's "before").
 */
export function _transposeThenXnnpack(args: KernelArgs): Info {
  const { a, b } = args.inputs as { a: Info; b: Info };
  const { transposeA: ta, transposeB: tb } = args.attrs as unknown as {
    transposeA: boolean;
    transposeB: boolean;
  };
  if (!ta && !tb) return _callTfjs("BatchMatMul", args);
  return _withScratch(args.backend, (k) => {
    const flat = (t: Info, transposed: boolean): Info => {
      if (!transposed) return t;
      const r = t.shape.length;
      const batch = tf.util.sizeFromShape(t.shape.slice(0, -2));
      const t3 = k.reshape(t, [batch, t.shape[r - 2]!, t.shape[r - 1]!]);
      const tt = k.run("Transpose", { x: t3 }, { perm: [0, 2, 1] });
      return k.reshape(tt, [...t.shape.slice(0, -2), t.shape[r - 1]!, t.shape[r - 2]!]);
    };
    return k.run("BatchMatMul", { a: flat(a, ta), b: flat(b, tb) }, {
      transposeA: false,
      transposeB: false,
    });
  });
}

export function batchMatMul(args: KernelArgs): Info {
  const { a, b } = args.inputs as { a: Info; b: Info };
  const { transposeA: ta, transposeB: tb } = args.attrs as unknown as {
    transposeA: boolean;
    transposeB: boolean;
  };
  const plan = _plan(a, b, ta, tb);
  const simd = plan ? _simd(args.backend as WasmBackend) : undefined;
  if (!plan || !simd) {
    const plainFloat = a.dtype === "float32" && b.dtype === "float32";
    return plainFloat && (ta || tb) ? _transposeThenXnnpack(args) : _callTfjs("BatchMatMul", args);
  }
  const out = (args.backend as WasmBackend).makeOutput(plan.outShape, "float32");
  try {
    _withScratch(args.backend, (k) => {
      _gemm(simd, k, a, b, ta, tb, plan, out);
      return out;
    });
  } catch (e) {
    (args.backend as WasmBackend).disposeData(out.dataId);
    throw e;
  }
  return out;
}

type Activation = "linear" | "relu" | "relu6" | "elu" | "leakyrelu" | "prelu" | "sigmoid";

/** Element strides [batch, row, column] of `shape` broadcast to [batch, m, n], or undefined. */
function _epilogueStrides(shape: number[], out: number[]): [number, number, number] | undefined {
  if (shape.length > 3) return undefined;
  const dims = [...new Array<number>(3 - shape.length).fill(1), ...shape];
  const strides: number[] = [0, 0, 0];
  let s = 1;
  for (let d = 2; d >= 0; d--) {
    if (dims[d] !== 1 && dims[d] !== out[d]) return undefined;
    strides[d] = dims[d] === 1 ? 0 : s;
    s *= dims[d]!;
  }
  return strides as [number, number, number];
}

/** The activations tfjs fuses, as the cpu backend computes them (float64, then float32). */
function _activate(
  c: Float32Array,
  [batches, m, n]: number[],
  act: Activation,
  alpha: number,
  weights: Float32Array | undefined,
  [wb, wi, wj]: [number, number, number],
): void {
  if (act === "linear") return;
  let o = 0;
  for (let bi = 0; bi < batches!; bi++) {
    for (let i = 0; i < m!; i++) {
      const w0 = bi * wb + i * wi;
      for (let j = 0; j < n!; j++, o++) {
        const x = c[o]!;
        switch (act) {
          case "relu":
            c[o] = Math.max(0, x);
            break;
          case "relu6":
            c[o] = Math.min(Math.max(0, x), 6);
            break;
          case "elu":
            c[o] = x >= 0 ? x : Math.exp(x) - 1;
            break;
          case "sigmoid":
            c[o] = 1 / (1 + Math.exp(-x));
            break;
          case "leakyrelu":
            c[o] = x < 0 ? alpha * x : x;
            break;
          case "prelu":
            c[o] = x < 0 ? weights![w0 + j * wj]! * x : x;
            break;
        }
      }
    }
  }
}

/** The activations the SIMD epilogue applies, by its code. */
const SIMD_EPILOGUES: Partial<Record<Activation, number>> = { linear: 0, relu: 1, relu6: 2 };

const ACTIVATIONS = new Set(["linear", "relu", "relu6", "elu", "leakyrelu", "prelu", "sigmoid"]);

export function fusedMatMul(args: KernelArgs): Info {
  const { a, b, bias, preluActivationWeights: weights } = args.inputs as {
    a: Info;
    b: Info;
    bias?: Info;
    preluActivationWeights?: Info;
  };
  const attrs = args.attrs as unknown as {
    transposeA: boolean;
    transposeB: boolean;
    activation?: string;
    leakyreluAlpha?: number;
  };
  const act = (attrs.activation ?? "linear") as Activation;
  const plan = _plan(a, b, attrs.transposeA, attrs.transposeB);
  const out3 = plan ? [tf.util.sizeFromShape(plan.outShape.slice(0, -2)), plan.m, plan.n] : [];
  const biasStrides = plan && bias && bias.dtype === "float32"
    ? _epilogueStrides(bias.shape, out3)
    : undefined;
  const weightStrides = plan && weights && weights.dtype === "float32"
    ? _epilogueStrides(weights.shape, out3)
    : undefined;
  const simd = plan && ACTIVATIONS.has(act) && (!bias || biasStrides) &&
      (act !== "prelu" || weightStrides)
    ? _simd(args.backend as WasmBackend)
    : undefined;
  if (!plan || !simd) return _callTfjs("_FusedMatMul", args);
  const backend = args.backend as WasmBackend;
  const out = backend.makeOutput(plan.outShape, "float32");
  try {
    _withScratch(backend, (k) => {
      _gemm(simd, k, a, b, attrs.transposeA, attrs.transposeB, plan, out);
      return out;
    });
  } catch (e) {
    backend.disposeData(out.dataId);
    throw e;
  }
  const [batches, m, n] = out3 as [number, number, number];
  const code = SIMD_EPILOGUES[act];
  const rowBias = !bias ||
    (biasStrides![0] === 0 && biasStrides![1] === 0 && biasStrides![2] === 1);
  if (code !== undefined && rowBias) {
    // the common case (a bias along the last axis; linear, relu, relu6) in SIMD
    const bp = bias ? _ptr(backend, bias) : 0;
    simd.epilogue(_ptr(backend, out), bp, bias ? 1 : 0, batches * m, n, code);
    return out;
  }
  const c = _f32(backend, out);
  if (bias) {
    const bv = _f32(backend, bias);
    const [sb, si, sj] = biasStrides!;
    let o = 0;
    for (let bi = 0; bi < batches; bi++) {
      for (let i = 0; i < m; i++) {
        const b0 = bi * sb + i * si;
        for (let j = 0; j < n; j++, o++) c[o] = c[o]! + bv[b0 + j * sj]!;
      }
    }
  }
  _activate(
    c,
    out3,
    act,
    attrs.leakyreluAlpha ?? 0.2,
    act === "prelu" ? _f32(backend, weights!) : undefined,
    weightStrides ?? [0, 0, 0],
  );
  return out;
}
