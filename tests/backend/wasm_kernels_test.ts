// fitloop's WASM kernels against the cpu backend's, on random shapes: strides 1 and 2,
// valid / same / explicit padding, dilation, odd sizes, batch 1; max pools with ties, NaN,
// -Infinity and all-negative windows. Every kernel must leave only its output behind,
// counted both as tensors and as data on the WASM heap (intermediates never become
// tensors, so only the heap count sees them).
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { assert, assertEquals } from "@std/assert";
import "../../backend/_env.ts";
import { mulberry32 } from "../../core/_rng.ts";
import { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from "../../backend/wasm_kernels.ts";
import { _setSimdEnabled } from "../../backend/_simd.ts";

registerWasmTrainingKernels();

function randoms(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
}

type Pad = "valid" | "same" | [[0, 0], [number, number], [number, number], [0, 0]];

/** Runs a kernel on a backend with inputs made from the same numbers; returns its values. */
async function on(
  backend: "cpu" | "wasm",
  kernel: string,
  inputs: Record<
    string,
    { shape: number[]; values: Float32Array | Int32Array; dtype?: "int32" | "bool" }
  >,
  attrs: Record<string, unknown>,
): Promise<{ shape: number[]; values: Float32Array; dtype: tf.DataType }> {
  await tf.setBackend(backend);
  const made = Object.fromEntries(
    Object.entries(inputs).map(([k, v]) => [k, tf.tensor(v.values, v.shape, v.dtype ?? "float32")]),
  );
  const before = tf.memory().numTensors;
  const ids = tf.backend().numDataIds();
  const out = tf.engine().runKernel(kernel, made, attrs as tf.NamedAttrMap) as tf.Tensor;
  assertEquals(
    tf.memory().numTensors,
    before + 1,
    `${kernel} on ${backend} leaves only its output`,
  );
  assert(tf.backend().numDataIds() <= ids + 1, `${kernel} on ${backend} frees its intermediates`);
  const values = (await out.data()) as Float32Array;
  const { shape, dtype } = out;
  tf.dispose([out, ...Object.values(made)]);
  return { shape, values, dtype };
}

function close(a: Float32Array, b: Float32Array, what: string): void {
  assertEquals(a.length, b.length, what);
  let scale = 1e-6;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < a.length; i++) {
    if (Math.abs(a[i]! - b[i]!) > 1e-5 * scale + 1e-6) {
      throw new Error(`${what}: element ${i} is ${a[i]} on wasm and ${b[i]} on cpu`);
    }
  }
}

const CASES: {
  n: number;
  h: number;
  w: number;
  c: number;
  f: [number, number];
  s: number;
  d: number;
  pad: Pad;
}[] = [
  { n: 2, h: 7, w: 9, c: 3, f: [3, 3], s: 1, d: 1, pad: "valid" },
  { n: 2, h: 7, w: 9, c: 3, f: [3, 3], s: 1, d: 1, pad: "same" },
  { n: 1, h: 8, w: 8, c: 2, f: [3, 3], s: 2, d: 1, pad: "same" },
  { n: 3, h: 9, w: 7, c: 4, f: [3, 2], s: 2, d: 1, pad: "valid" },
  { n: 1, h: 11, w: 10, c: 1, f: [5, 5], s: 2, d: 1, pad: "same" },
  { n: 2, h: 9, w: 9, c: 2, f: [3, 3], s: 1, d: 2, pad: "valid" },
  { n: 2, h: 10, w: 9, c: 3, f: [3, 3], s: 1, d: 2, pad: "same" },
  { n: 2, h: 6, w: 7, c: 2, f: [3, 3], s: 2, d: 1, pad: [[0, 0], [1, 2], [2, 0], [0, 0]] },
  { n: 1, h: 5, w: 5, c: 1, f: [1, 1], s: 1, d: 1, pad: "valid" },
  { n: 1, h: 7, w: 6, c: 3, f: [2, 2], s: 3, d: 1, pad: "same" },
  { n: 2, h: 5, w: 6, c: 2, f: [3, 3], s: 1, d: 1, pad: [[0, 0], [3, 4], [0, 5], [0, 0]] },
  { n: 2, h: 9, w: 8, c: 2, f: [3, 2], s: 2, d: 1, pad: [[0, 0], [4, 0], [3, 3], [0, 0]] },
];

function outSize(len: number, f: number, s: number, d: number, pad: Pad, axis: 1 | 2): number {
  const ext = (f - 1) * d + 1;
  if (pad === "same") return Math.ceil(len / s);
  if (pad === "valid") return Math.ceil((len - ext + 1) / s);
  const [a, b] = pad[axis];
  return Math.floor((len + a + b - ext) / s) + 1;
}

let seed = 1;
for (const cs of CASES) {
  const label = `n${cs.n} ${cs.h}x${cs.w}x${cs.c} f${cs.f} s${cs.s} d${cs.d} pad ${
    JSON.stringify(cs.pad)
  }`;
  const oh = outSize(cs.h, cs.f[0], cs.s, cs.d, cs.pad, 1);
  const ow = outSize(cs.w, cs.f[1], cs.s, cs.d, cs.pad, 2);
  const x = { shape: [cs.n, cs.h, cs.w, cs.c], values: randoms(cs.n * cs.h * cs.w * cs.c, seed++) };

  // 4 and 20 output channels: fitloop's SIMD tiles (20 = a 16-wide tile and a 4-wide one);
  // 5, or SIMD off: the XNNPACK formulation
  for (const [co, simd] of [[4, true], [20, true], [5, true], [4, false]] as const) {
    Deno.test(
      `Conv2DBackpropFilter on wasm equals cpu (${co} out channels${
        simd ? "" : ", no SIMD"
      }): ${label}`,
      async () => {
        const dy = { shape: [cs.n, oh, ow, co], values: randoms(cs.n * oh * ow * co, seed++) };
        const attrs = {
          strides: cs.s,
          pad: cs.pad,
          dataFormat: "NHWC",
          dilations: cs.d,
          filterShape: [...cs.f, cs.c, co],
        };
        _setSimdEnabled(simd);
        let a;
        try {
          a = await on("wasm", "Conv2DBackpropFilter", { x, dy }, attrs);
        } finally {
          _setSimdEnabled(true);
        }
        if (cs.d === 1) {
          const b = await on("cpu", "Conv2DBackpropFilter", { x, dy }, {
            ...attrs,
            dilations: undefined,
          });
          assertEquals(a.shape, b.shape);
          close(a.values, b.values, label);
        } else {
          // tfjs's cpu kernel has no dilations: compare with a direct float64 computation.
          assertEquals(a.shape, [...cs.f, cs.c, co]);
          close(a.values, directFilterGrad(x.values, dy.values, cs, oh, ow, co), label);
        }
      },
    );
  }

  // with SIMD: the GEMM and scatter form where the full correlation wastes >= 1.5x,
  // else (and always without SIMD) one XNNPACK convolution
  for (const simd of [true, false]) {
    Deno.test(`Conv2DBackpropInput on wasm equals cpu${simd ? "" : " (no SIMD)"}: ${label}`, async () => {
      const co = 5;
      const dy = { shape: [cs.n, oh, ow, co], values: randoms(cs.n * oh * ow * co, seed++) };
      const filter = {
        shape: [...cs.f, cs.c, co],
        values: randoms(cs.f[0] * cs.f[1] * cs.c * co, seed++),
      };
      const attrs = {
        strides: cs.s,
        pad: cs.pad,
        dataFormat: "NHWC",
        inputShape: x.shape,
        dilations: cs.d,
      };
      _setSimdEnabled(simd);
      let a;
      try {
        a = await on("wasm", "Conv2DBackpropInput", { dy, filter }, attrs);
      } finally {
        _setSimdEnabled(true);
      }
      assertEquals(a.shape, x.shape);
      if (cs.d === 1) {
        const b = await on("cpu", "Conv2DBackpropInput", { dy, filter }, attrs);
        close(a.values, b.values, label);
      } else {
        // tfjs's cpu kernel has no dilations: <dy, conv(X, W)> = <dX, X> for any X
        await adjoint(
          a.values,
          x.shape,
          (xx) => tf.conv2d(xx, t(filter), cs.s, cs.pad, "NHWC", cs.d),
          dy,
        );
      }
    });
  }

  for (const m of [1, 2]) {
    Deno.test(`DepthwiseConv2dNativeBackpropFilter on wasm equals cpu (multiplier ${m}): ${label}`, async () => {
      const dy = {
        shape: [cs.n, oh, ow, cs.c * m],
        values: randoms(cs.n * oh * ow * cs.c * m, seed++),
      };
      const attrs = {
        strides: cs.s,
        pad: cs.pad,
        dilations: cs.d,
        filterShape: [...cs.f, cs.c, m],
      };
      const a = await on("wasm", "DepthwiseConv2dNativeBackpropFilter", { x, dy }, attrs);
      if (cs.d === 1) {
        const b = await on("cpu", "DepthwiseConv2dNativeBackpropFilter", { x, dy }, attrs);
        assertEquals(a.shape, b.shape);
        close(a.values, b.values, label);
      } else {
        // tfjs's cpu backprop kernels ignore dilations: check the adjoint identity
        // <dy, depthwise(x, W)> = <dW, W> against cpu's (dilation-aware) forward kernel.
        await adjoint(
          a.values,
          [...cs.f, cs.c, m],
          (w) => tf.depthwiseConv2d(t(x), w, cs.s, cs.pad, "NHWC", cs.d),
          dy,
        );
      }
    });
    Deno.test(`DepthwiseConv2dNativeBackpropInput on wasm equals cpu (multiplier ${m}): ${label}`, async () => {
      const dy = {
        shape: [cs.n, oh, ow, cs.c * m],
        values: randoms(cs.n * oh * ow * cs.c * m, seed++),
      };
      const filter = {
        shape: [...cs.f, cs.c, m],
        values: randoms(cs.f[0] * cs.f[1] * cs.c * m, seed++),
      };
      const attrs = { strides: cs.s, pad: cs.pad, dilations: cs.d, inputShape: x.shape };
      const a = await on("wasm", "DepthwiseConv2dNativeBackpropInput", { dy, filter }, attrs);
      if (cs.d === 1) {
        const b = await on("cpu", "DepthwiseConv2dNativeBackpropInput", { dy, filter }, attrs);
        assertEquals(a.shape, b.shape);
        close(a.values, b.values, label);
      } else {
        // <dy, depthwise(X, W)> = <dX, X> for any X
        await adjoint(
          a.values,
          x.shape,
          (xx) =>
            tf.depthwiseConv2d(
              xx as tf.Tensor4D,
              t(filter) as tf.Tensor4D,
              cs.s,
              cs.pad,
              "NHWC",
              cs.d,
            ),
          dy,
        );
      }
    });
  }
}

function t(v: { shape: number[]; values: Float32Array | Int32Array }): tf.Tensor4D {
  return tf.tensor(v.values, v.shape as tf.ShapeMap["R4"]) as tf.Tensor4D;
}

/**
 * Checks a gradient `g` of the linear map `forward` against three random probes p:
 * <dy, forward(p)> must equal <g, p> (computed on cpu, which has dilated forward kernels).
 */
async function adjoint(
  g: Float32Array,
  shape: number[],
  forward: (p: tf.Tensor4D) => tf.Tensor,
  dy: { shape: number[]; values: Float32Array },
): Promise<void> {
  await tf.setBackend("cpu");
  for (let k = 0; k < 3; k++) {
    const p = randoms(g.length, 1000 + k);
    const probe = tf.tensor(p, shape as tf.ShapeMap["R4"]) as tf.Tensor4D;
    const y = forward(probe);
    assertEquals(y.shape, dy.shape);
    const yv = await y.data();
    let lhs = 0;
    let scale = 0;
    for (let i = 0; i < yv.length; i++) {
      lhs += dy.values[i]! * yv[i]!;
      scale += Math.abs(dy.values[i]! * yv[i]!);
    }
    let rhs = 0;
    for (let i = 0; i < g.length; i++) rhs += g[i]! * p[i]!;
    tf.dispose([probe, y]);
    if (Math.abs(lhs - rhs) > 1e-5 * scale + 1e-6) {
      throw new Error(`adjoint identity fails: <dy, f(p)> = ${lhs} but <grad, p> = ${rhs}`);
    }
  }
}

function directFilterGrad(
  x: Float32Array,
  dy: Float32Array,
  cs: (typeof CASES)[number],
  oh: number,
  ow: number,
  co: number,
): Float32Array {
  const [fh, fw] = cs.f;
  const padTop = cs.pad === "same"
    ? Math.max(0, ((oh - 1) * cs.s + (fh - 1) * cs.d + 1 - cs.h) >> 1)
    : cs.pad === "valid"
    ? 0
    : cs.pad[1][0];
  const padLeft = cs.pad === "same"
    ? Math.max(0, ((ow - 1) * cs.s + (fw - 1) * cs.d + 1 - cs.w) >> 1)
    : cs.pad === "valid"
    ? 0
    : cs.pad[2][0];
  const out = new Float32Array(fh * fw * cs.c * co);
  for (let kh = 0; kh < fh; kh++) {
    for (let kw = 0; kw < fw; kw++) {
      for (let ci = 0; ci < cs.c; ci++) {
        for (let o = 0; o < co; o++) {
          let sum = 0;
          for (let n = 0; n < cs.n; n++) {
            for (let i = 0; i < oh; i++) {
              const r = i * cs.s + kh * cs.d - padTop;
              if (r < 0 || r >= cs.h) continue;
              for (let j = 0; j < ow; j++) {
                const q = j * cs.s + kw * cs.d - padLeft;
                if (q < 0 || q >= cs.w) continue;
                sum += x[((n * cs.h + r) * cs.w + q) * cs.c + ci]! *
                  dy[((n * oh + i) * ow + j) * co + o]!;
              }
            }
          }
          out[((kh * fw + kw) * cs.c + ci) * co + o] = sum;
        }
      }
    }
  }
  return out;
}

Deno.test("UnsortedSegmentSum on wasm equals cpu (the gradient of gather)", async () => {
  const x = { shape: [6, 3], values: randoms(18, 99) };
  const segmentIds = {
    shape: [6],
    values: Int32Array.from([0, 2, 0, 4, -1, 2]),
    dtype: "int32" as const,
  };
  const a = await on("wasm", "UnsortedSegmentSum", { x, segmentIds }, { numSegments: 5 });
  const b = await on("cpu", "UnsortedSegmentSum", { x, segmentIds }, { numSegments: 5 });
  assertEquals(a.shape, [5, 3]);
  close(a.values, b.values, "segment sum");
});

Deno.test("registerWasmTrainingKernels({ replace: false }) puts tfjs's back, and sticks", async () => {
  const indices = { shape: [1], values: Int32Array.from([1]), dtype: "int32" as const };
  const attrs = { depth: 2, onValue: 1, offValue: 0, dtype: "float32" };
  try {
    assertEquals(registerWasmTrainingKernels({ replace: false }), []);
    // tfjs-wasm's OneHot writes the int bits of 1 into a float32: 1.4e-45
    const theirs = await on("wasm", "OneHot", { indices }, attrs);
    assert(theirs.values[1]! < 1e-40, `tfjs's OneHot gave ${theirs.values[1]}`);
    assertEquals(registerWasmTrainingKernels(), []); // fit's call keeps the choice
    assert((await on("wasm", "OneHot", { indices }, attrs)).values[1]! < 1e-40);
  } finally {
    registerWasmTrainingKernels({ replace: true });
  }
  assertEquals(Array.from((await on("wasm", "OneHot", { indices }, attrs)).values), [0, 1]);
});

Deno.test("registerWasmTrainingKernels() is idempotent and leaves other tfjs kernels alone", () => {
  const conv = tf.getKernel("Conv2D", "wasm")!;
  assertEquals(registerWasmTrainingKernels(), []);
  for (const name of WASM_TRAINING_KERNELS) assert(tf.getKernel(name, "wasm"));
  assert(tf.getKernel("Conv2D", "wasm") === conv);
  let error: unknown;
  try {
    registerWasmTrainingKernels({ replace: "yes" as never });
  } catch (e) {
    error = e;
  }
  assert(error instanceof TypeError && error.message.includes("'options.replace'"));
});

// ---- MaxPoolGrad ----

type PoolPad = "valid" | "same" | number;

/** Inputs with ties (few distinct levels), NaN, -Infinity and all-negative regions. */
function poolInput(n: number, h: number, w: number, c: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n * h * w * c }, (_, i) => {
    const u = r();
    if (u < 0.03) return NaN;
    if (u < 0.06) return -Infinity;
    if (u < 0.5) return Math.round(r() * 4) / 4 - 1; // ties at -1, -0.75, …, 0
    return (i % 7 === 0 ? -1 : 1) * r(); // mostly positive, some negative
  });
}

const POOLS: { n: number; h: number; w: number; c: number; f: number; s: number; pad: PoolPad }[] =
  [
    { n: 2, h: 8, w: 8, c: 4, f: 2, s: 2, pad: "valid" }, // SIMD path
    { n: 1, h: 7, w: 9, c: 8, f: 2, s: 2, pad: "same" }, // SIMD, odd sizes, padded
    { n: 3, h: 9, w: 7, c: 3, f: 3, s: 3, pad: "valid" }, // channels not a multiple of 4
    { n: 2, h: 9, w: 9, c: 4, f: 3, s: 2, pad: "same" }, // overlapping windows
    { n: 1, h: 6, w: 7, c: 5, f: 3, s: 1, pad: "same" }, // overlapping, stride 1
    { n: 2, h: 7, w: 7, c: 4, f: 2, s: 3, pad: "valid" }, // gaps between windows
    { n: 1, h: 5, w: 6, c: 4, f: 3, s: 3, pad: 1 }, // numeric padding
  ];

for (const simd of [true, false]) {
  for (const p of POOLS) {
    const label = `n${p.n} ${p.h}x${p.w}x${p.c} f${p.f} s${p.s} pad ${p.pad}${
      simd ? "" : " (JS fallback)"
    }`;
    Deno.test(`MaxPoolGrad on wasm equals cpu exactly (ties, NaN, -Infinity): ${label}`, async () => {
      const values = poolInput(p.n, p.h, p.w, p.c, 500 + p.h * p.w + p.c);
      // an all-negative image and an all -Infinity / NaN row in the first example
      for (let i = 0; i < p.w * p.c; i++) values[i] = i % 2 ? -Infinity : NaN;
      const input = { shape: [p.n, p.h, p.w, p.c], values };
      await tf.setBackend("cpu");
      const yCpu = tf.maxPool(
        tf.tensor4d(values, [p.n, p.h, p.w, p.c]),
        p.f,
        p.s,
        p.pad as "valid",
      );
      const output = { shape: yCpu.shape, values: (await yCpu.data()) as Float32Array };
      tf.dispose(yCpu);
      const dy = { shape: output.shape, values: randoms(output.values.length, 77) };
      const attrs = { filterSize: p.f, strides: p.s, pad: p.pad };
      _setSimdEnabled(simd);
      try {
        const a = await on("wasm", "MaxPoolGrad", { dy, input, output }, attrs);
        const b = await on("cpu", "MaxPoolGrad", { dy, input, output }, attrs);
        assertEquals(a.shape, b.shape);
        assertEquals(Array.from(a.values), Array.from(b.values), label);
      } finally {
        _setSimdEnabled(true);
      }
    });
  }
}

Deno.test("MaxPoolGrad sends a window's gradient to its first maximum and none from NaN windows", async () => {
  // one 2x2 window per channel: [tie 3, 3], [-5 everywhere], [NaN, -inf], [-inf, -2]
  const values = Float32Array.from([
    ...[3, -5, NaN, -Infinity],
    ...[1, -5, -Infinity, -2],
    ...[3, -5, -Infinity, -Infinity],
    ...[2, -5, NaN, -Infinity],
  ]);
  const input = { shape: [1, 2, 2, 4], values };
  const output = { shape: [1, 1, 1, 4], values: Float32Array.from([3, -5, NaN, -2]) };
  const dy = { shape: [1, 1, 1, 4], values: Float32Array.from([10, 20, 30, 40]) };
  for (const simd of [true, false]) {
    _setSimdEnabled(simd);
    try {
      const a = await on("wasm", "MaxPoolGrad", { dy, input, output }, {
        filterSize: 2,
        strides: 2,
        pad: "valid",
      });
      // hand-derived: channel 0 ties at pixels 0 and 2 -> pixel 0; channel 1 all -5 ->
      // pixel 0; channel 2 NaN and -inf only -> nothing; channel 3 -> the -2 at pixel 1
      assertEquals(Array.from(a.values), [
        ...[10, 20, 0, 0],
        ...[0, 0, 0, 40],
        ...[0, 0, 0, 0],
        ...[0, 0, 0, 0],
      ]);
    } finally {
      _setSimdEnabled(true);
    }
  }
});

// ---- BatchMatMul, Sum, Identity, Cast, OneHot ----

// BatchMatMul and _FusedMatMul run on fitloop's SIMD GEMM: 6x8 register tiles (a
// narrow 6x4 tile for a last panel of at most 4 columns), B packed in panels of 8
// columns, a row-major A read in place 4 k at a time, a transposed A read in place by
// tiles of 6 rows with its last rows packed. The shapes below cover 1x1, every tail
// (M mod 6, N mod 8 and N mod 4, K mod 4), large K, all transposes, batches and
// broadcast batches.
//
// Tolerance: a float32 dot product of K terms, summed in any order (with or without
// fused multiply-adds), is within K·u·Σ|a_k·b_k| of the exact value (u = 2^-24, the
// unit round-off); the cpu backend's (float64 blocks of 48 added in float32) is within
// the same bound. So two correct results differ by at most 2·K·u·Σ|a_k·b_k| plus the
// rounding of the result; we allow 2·(K + 2)·u·Σ|a_k·b_k| + 2u·|c| per element, with
// Σ|a_k·b_k| computed in float64 from the inputs. A wrong index or a lost term (|a·b|
// of order 0.1–1 here) exceeds it by orders of magnitude even at K = 1100.

/** op(a)·op(b) in float64 with true batch broadcasting, and Σ|a_k·b_k| per element. */
function matMul64(
  a: { shape: number[]; values: Float32Array },
  b: { shape: number[]; values: Float32Array },
  ta: boolean,
  tb: boolean,
): { shape: number[]; values: Float64Array; abs: Float64Array; k: number } {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const [m, k] = ta ? [a.shape[ra - 1]!, a.shape[ra - 2]!] : [a.shape[ra - 2]!, a.shape[ra - 1]!];
  const n = tb ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  const aOuter = a.shape.slice(0, -2);
  const bOuter = b.shape.slice(0, -2);
  const rank = Math.max(aOuter.length, bOuter.length);
  const pad = (d: number[]) => [...new Array<number>(rank - d.length).fill(1), ...d];
  const [pa, pb] = [pad(aOuter), pad(bOuter)];
  const outer = pa.map((d, i) => Math.max(d, pb[i]!));
  const batches = outer.reduce((p, q) => p * q, 1);
  const values = new Float64Array(batches * m * n);
  const abs = new Float64Array(batches * m * n);
  for (let bi = 0; bi < batches; bi++) {
    // the batch's index in each operand (dimensions of size 1 broadcast)
    let rest = bi;
    let ia = 0;
    let ib = 0;
    let sa = 1;
    let sb = 1;
    for (let d = rank - 1; d >= 0; d--) {
      const idx = rest % outer[d]!;
      rest = Math.floor(rest / outer[d]!);
      ia += (pa[d] === 1 ? 0 : idx) * sa;
      ib += (pb[d] === 1 ? 0 : idx) * sb;
      sa *= pa[d]!;
      sb *= pb[d]!;
    }
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        let t = 0;
        for (let q = 0; q < k; q++) {
          const av = a.values[ia * m * k + (ta ? q * m + i : i * k + q)]!;
          const bv = b.values[ib * k * n + (tb ? j * k + q : q * n + j)]!;
          s += av * bv;
          t += Math.abs(av * bv);
        }
        values[(bi * m + i) * n + j] = s;
        abs[(bi * m + i) * n + j] = t;
      }
    }
  }
  return { shape: [...outer, m, n], values, abs, k };
}

const U = 2 ** -24;

/** Checks `got` against `want` within the bound above (NaN must match NaN, ±Inf exactly). */
function withinRoundOff(
  got: Float32Array,
  want: ArrayLike<number>,
  abs: Float64Array,
  k: number,
  what: string,
  scale = 1,
): void {
  assertEquals(got.length, want.length, what);
  for (let i = 0; i < got.length; i++) {
    const [g, w] = [got[i]!, want[i]!];
    if (Number.isNaN(w) || !Number.isFinite(w)) {
      if (!Object.is(g, w) && !(Number.isNaN(g) && Number.isNaN(w))) {
        throw new Error(`${what}: element ${i} is ${g}, expected ${w}`);
      }
      continue;
    }
    const tol = scale * (2 * (k + 2) * U * abs[i]! + 2 * U * Math.abs(w)) + 1e-30;
    if (!(Math.abs(g - w) <= tol)) {
      throw new Error(`${what}: element ${i} is ${g}, expected ${w} (tolerance ${tol})`);
    }
  }
}

const MATMULS: [number[], number[], string][] = [
  [[1, 1], [1, 1], "1x1"],
  [[7, 13], [13, 11], "odd M, K, N (N = 8 + 3: the narrow tile)"],
  [[13, 5], [5, 4], "M = 2 tiles + 1, N = 4"],
  [[6, 8], [8, 8], "exact tiles"],
  [[12, 3], [3, 16], "K = 3"],
  [[5, 1], [1, 9], "K = 1"],
  [[3, 1100], [1100, 5], "large K"],
  [[37, 9], [9, 19], "M = 37, N = 19"],
  [[1, 17], [17, 30], "one row"],
  [[25, 6], [6, 1], "one column"],
  [[64, 100], [100, 40], "more than one panel and tile each way"],
  [[3, 7, 5], [3, 5, 9], "batch 3"],
  [[1, 6, 4], [3, 4, 5], "A's batch broadcast"],
  [[2, 3, 4, 6], [6, 5], "B of rank 2 broadcast over a rank-4 A"],
  [[4, 6], [2, 3, 6, 5], "A of rank 2 broadcast"],
  [[5, 7, 9], [1, 9, 17], "B's batch 1 broadcast over A's 5"],
  [[3, 5], [5, 63], "N = 63 (7 panels of 8 + 7)"],
  [[63, 65], [65, 257], "M = 63, K = 65, N = 257"],
  [[65, 257], [257, 63], "M = 65 (10 tiles of 6 + 5), K = 257"],
  [[257, 17], [17, 65], "M = 257, N = 65 (8 panels + 1 column)"],
];

for (const [aBase, bBase, label] of MATMULS) {
  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
    const tr = (shape: number[], t: boolean) =>
      t ? [...shape.slice(0, -2), shape.at(-1)!, shape.at(-2)!] : shape;
    const [aShape, bShape] = [tr(aBase, ta!), tr(bBase, tb!)];
    for (const simd of [true, false]) {
      Deno.test(
        `BatchMatMul on wasm equals cpu within float32 round-off: ${label}, ${aShape} x ${bShape}, transposes ${ta} ${tb}${
          simd ? "" : " (SIMD off: tfjs's own)"
        }`,
        async () => {
          const a = { shape: aShape, values: randoms(aShape.reduce((p, q) => p * q), 31) };
          const b = { shape: bShape, values: randoms(bShape.reduce((p, q) => p * q), 32) };
          const attrs = { transposeA: ta, transposeB: tb };
          const want = matMul64(a, b, ta!, tb!);
          _setSimdEnabled(simd);
          let x;
          try {
            x = await on("wasm", "BatchMatMul", { a, b }, attrs);
          } finally {
            _setSimdEnabled(true);
          }
          const y = await on("cpu", "BatchMatMul", { a, b }, attrs);
          assertEquals(x.shape, y.shape);
          assertEquals(x.shape, want.shape);
          withinRoundOff(x.values, y.values, want.abs, want.k, `${label} vs cpu`);
          withinRoundOff(x.values, want.values, want.abs, want.k, `${label} vs float64`);
        },
      );
    }
  }
}

Deno.test("BatchMatMul on wasm broadcasts batches truly where tfjs's cpu kernel cycles them", async () => {
  // outer [2, 3] and [2, 1]: batch (p, q) of the output takes B's batch p. tfjs's cpu
  // kernel takes B's batch (3p + q) mod 2 instead; fitloop follows the broadcast.
  const a = { shape: [2, 3, 4, 5], values: randoms(120, 41) };
  const b = { shape: [2, 1, 5, 3], values: randoms(30, 42) };
  const x = await on("wasm", "BatchMatMul", { a, b }, { transposeA: false, transposeB: false });
  const want = matMul64(a, b, false, false);
  assertEquals(x.shape, [2, 3, 4, 3]);
  withinRoundOff(x.values, want.values, want.abs, want.k, "true broadcast");
});

Deno.test("BatchMatMul on wasm propagates NaN and Infinity as cpu does", async () => {
  // B is positive, so row 0 (a NaN) is NaN, row 1 (+Infinity) +Infinity, row 3
  // (-Infinity) -Infinity, and row 2 (+Infinity and -Infinity) NaN, in any summation order
  const av = randoms(7 * 9, 43);
  av[2] = NaN;
  av[9 + 4] = Infinity;
  av[2 * 9] = Infinity;
  av[2 * 9 + 1] = -Infinity;
  av[3 * 9 + 1] = -Infinity;
  const bv = randoms(9 * 11, 44).map((v) => Math.abs(v) + 0.1);
  const a = { shape: [7, 9], values: av };
  for (const tb of [false, true]) {
    const b = tb
      ? {
        shape: [11, 9],
        values: Float32Array.from({ length: 99 }, (_, i) => bv[(i % 9) * 11 + Math.floor(i / 9)]!),
      }
      : { shape: [9, 11], values: bv };
    const attrs = { transposeA: false, transposeB: tb };
    const x = await on("wasm", "BatchMatMul", { a, b }, attrs);
    const y = await on("cpu", "BatchMatMul", { a, b }, attrs);
    const want = matMul64(a, b, false, tb);
    withinRoundOff(x.values, y.values, want.abs, want.k, "NaN and Infinity");
    for (let j = 0; j < 11; j++) {
      assert(Number.isNaN(x.values[j]!) && Number.isNaN(x.values[2 * 11 + j]!));
      assertEquals([x.values[11 + j], x.values[3 * 11 + j]], [Infinity, -Infinity]);
    }
  }
});

Deno.test("BatchMatMul on wasm with K = 0 gives zeros, with an empty side an empty output", async () => {
  await tf.setBackend("wasm");
  const z = tf.matMul(tf.zeros([3, 0]), tf.zeros([0, 5]));
  assertEquals(z.shape, [3, 5]);
  assertEquals(Array.from(await z.data()), new Array(15).fill(0));
  const e = tf.matMul(tf.ones([0, 4]), tf.ones([4, 5]));
  assertEquals(e.shape, [0, 5]);
  tf.dispose([z, e]);
});

Deno.test("BatchMatMul on wasm leaves int32 to tfjs (which refuses it)", async () => {
  const a = { shape: [2, 2], values: Int32Array.from([1, 2, 3, 4]), dtype: "int32" as const };
  let error: unknown;
  try {
    await on("wasm", "BatchMatMul", { a, b: a }, { transposeA: false, transposeB: false });
  } catch (e) {
    error = e;
  }
  assert(error instanceof Error && error.message.includes("float32"), String(error));
});

/** The WASM backend's heap size in bytes (its memory grows, never shrinks). */
function wasmHeapBytes(): number {
  const wasm = (tf.backend() as unknown as {
    wasm: { wasmMemory?: WebAssembly.Memory; HEAPU8?: Uint8Array };
  }).wasm;
  return (wasm.wasmMemory?.buffer ?? wasm.HEAPU8!.buffer).byteLength;
}

Deno.test("BatchMatMul and _FusedMatMul on wasm: repeated calls leave no tensor, no data and no heap growth", async () => {
  await tf.setBackend("wasm");
  const x = tf.randomUniform([64, 784], -1, 1, "float32", 71);
  const w = tf.randomUniform([784, 256], -1, 1, "float32", 72);
  const dy = tf.randomUniform([64, 256], -1, 1, "float32", 73);
  const bias = tf.randomUniform([256], -1, 1, "float32", 74);
  const odd = tf.randomUniform([3, 63, 65], -1, 1, "float32", 75);
  const round = () =>
    tf.dispose([
      tf.matMul(x, w),
      tf.matMul(x, dy, true, false),
      tf.matMul(dy, w, false, true),
      tf.matMul(odd, odd, true, false),
      tf.fused.matMul({ a: x, b: w, bias, activation: "relu" }),
      tf.fused.matMul({ a: dy, b: w, transposeB: true, activation: "elu" }),
    ]);
  for (let r = 0; r < 3; r++) round(); // the allocator finds its sizes
  const [tensors, ids, heap] = [tf.memory().numTensors, tf.backend().numDataIds(), wasmHeapBytes()];
  for (let r = 0; r < 40; r++) round();
  assertEquals(tf.memory().numTensors, tensors);
  assertEquals(tf.backend().numDataIds(), ids);
  assertEquals(wasmHeapBytes(), heap, "the WASM heap must not grow");
  tf.dispose([x, w, dy, bias, odd]);
});

const FUSED: {
  a: number[];
  b: number[];
  ta: boolean;
  tb: boolean;
  bias?: number[];
  activation: string;
  weights?: number[];
}[] = [
  { a: [1, 7, 13], b: [1, 13, 11], ta: false, tb: false, bias: [11], activation: "linear" },
  { a: [1, 7, 13], b: [1, 13, 11], ta: false, tb: false, activation: "relu" },
  { a: [1, 13, 7], b: [1, 11, 13], ta: true, tb: true, bias: [11], activation: "relu" },
  { a: [1, 9, 20], b: [1, 20, 6], ta: false, tb: false, bias: [6], activation: "relu6" },
  { a: [1, 20, 9], b: [1, 20, 6], ta: true, tb: false, bias: [6], activation: "elu" },
  { a: [1, 9, 20], b: [1, 6, 20], ta: false, tb: true, bias: [6], activation: "sigmoid" },
  { a: [1, 9, 20], b: [1, 20, 6], ta: false, tb: false, bias: [6], activation: "leakyrelu" },
  {
    a: [1, 9, 20],
    b: [1, 20, 6],
    ta: false,
    tb: false,
    bias: [6],
    activation: "prelu",
    weights: [6],
  },
  { a: [1, 9, 20], b: [1, 20, 6], ta: false, tb: false, activation: "prelu", weights: [1] },
  { a: [3, 5, 8], b: [1, 8, 10], ta: false, tb: false, bias: [10], activation: "relu" },
  { a: [1, 5, 8], b: [3, 8, 10], ta: false, tb: false, bias: [5, 10], activation: "linear" },
  {
    a: [2, 5, 8],
    b: [2, 8, 10],
    ta: false,
    tb: false,
    bias: [1, 10],
    activation: "prelu",
    weights: [5, 10],
  },
  { a: [1, 5, 8], b: [1, 8, 10], ta: false, tb: false, bias: [5, 1], activation: "relu" },
  { a: [3, 5, 8], b: [3, 10, 8], ta: false, tb: true, bias: [3, 1, 10], activation: "linear" },
  { a: [1, 1, 1], b: [1, 1, 1], ta: false, tb: false, bias: [1], activation: "elu" },
];

for (const f of FUSED) {
  const label = `${f.a} x ${f.b}, transposes ${f.ta} ${f.tb}, bias ${
    f.bias ?? "none"
  }, ${f.activation}${f.weights ? ` weights ${f.weights}` : ""}`;
  Deno.test(`_FusedMatMul on wasm equals cpu within float32 round-off: ${label}`, async () => {
    const size = (s: number[]) => s.reduce((p, q) => p * q, 1);
    const a = { shape: f.a, values: randoms(size(f.a), 51).map((v) => v * 3) };
    const b = { shape: f.b, values: randoms(size(f.b), 52) };
    const inputs: Record<string, { shape: number[]; values: Float32Array }> = { a, b };
    if (f.bias) inputs.bias = { shape: f.bias, values: randoms(size(f.bias), 53) };
    if (f.weights) {
      inputs.preluActivationWeights = { shape: f.weights, values: randoms(size(f.weights), 54) };
    }
    const attrs = {
      transposeA: f.ta,
      transposeB: f.tb,
      activation: f.activation,
      leakyreluAlpha: 0.3,
    };
    const x = await on("wasm", "_FusedMatMul", inputs, attrs);
    const y = await on("cpu", "_FusedMatMul", inputs, attrs);
    assertEquals(x.shape, y.shape);
    const want = matMul64(a, b, f.ta, f.tb);
    // the bias adds its magnitude to the bound; the activations are Lipschitz with
    // constant max(1, |alpha|) <= 1 here (|weights| < 1, alpha 0.3)
    const abs = want.abs.map((v) => v + 1);
    withinRoundOff(x.values, y.values, abs, want.k, label);
  });
}

Deno.test("_FusedMatMul on wasm: relu and relu6 clip as cpu, NaN stays NaN, on vector and tail columns", async () => {
  // A row 0 holds a NaN; the others are scaled so that sums pass 6 and fall below 0
  const av = randoms(5 * 7, 81).map((v) => v * 8);
  av[3] = NaN;
  const a = { shape: [1, 5, 7], values: av };
  const b = { shape: [1, 7, 11], values: randoms(7 * 11, 82) };
  const bias = { shape: [11], values: randoms(11, 83).map((v) => v * 4) };
  for (const activation of ["relu", "relu6", "linear"]) {
    const attrs = { transposeA: false, transposeB: false, activation };
    const x = await on("wasm", "_FusedMatMul", { a, b, bias }, attrs);
    const y = await on("cpu", "_FusedMatMul", { a, b, bias }, attrs);
    const want = matMul64(a, b, false, false);
    withinRoundOff(x.values, y.values, want.abs.map((v) => v + 4), want.k, activation);
    for (let j = 0; j < 11; j++) assert(Number.isNaN(x.values[j]!), `${activation}: NaN row`);
    if (activation !== "linear") {
      assert(x.values.slice(11).every((v) => v >= 0), `${activation} >= 0`);
      assert(x.values.slice(11).some((v) => v === 0), `${activation} clips at 0`);
    }
    if (activation === "relu6") {
      assert(x.values.slice(11).some((v) => v === 6), "relu6 clips at 6");
      assert(x.values.slice(11).every((v) => v <= 6), "relu6 <= 6");
    }
    if (activation === "relu") assert(x.values.some((v) => v > 6), "relu keeps values past 6");
  }
});

Deno.test("_FusedMatMul on wasm hands activations it does not know to tfjs", async () => {
  // every activation tfjs 4.22 fuses is fitloop's; any other name reaches tfjs's kernel,
  // which answers for it
  const a = { shape: [1, 2, 3], values: randoms(6, 64) };
  const b = { shape: [1, 3, 4], values: randoms(12, 65) };
  let error: unknown;
  try {
    await on("wasm", "_FusedMatMul", { a, b }, {
      transposeA: false,
      transposeB: false,
      activation: "swish",
    });
  } catch (e) {
    error = e;
  }
  assert(error instanceof Error && error.message.includes("swish"), String(error));
});

Deno.test("_FusedMatMul on wasm hands biases it cannot broadcast to tfjs", async () => {
  // a rank-4 bias cannot be laid on the kernel's [batch, M, N] output: tfjs's own
  // kernel (which takes rank-1 biases only) answers
  const a = { shape: [1, 2, 3], values: randoms(6, 61) };
  const b = { shape: [1, 3, 4], values: randoms(12, 62) };
  const bias = { shape: [1, 1, 1, 4], values: randoms(4, 63) };
  let error: unknown;
  try {
    await on("wasm", "_FusedMatMul", { a, b, bias }, {
      transposeA: false,
      transposeB: false,
      activation: "linear",
    });
  } catch (e) {
    error = e;
  }
  assert(error instanceof Error && error.message.includes("rank-1 bias"), String(error));
});

for (
  const [shape, axis, keepDims] of [
    [[4, 5, 6, 3], [0, 1, 2], false],
    [[4, 5, 6, 3], [2, 0, 1], true],
    [[7, 5], [0], false],
    [[7, 5], [-2], true],
    [[1, 3, 3, 8], [0, 1, 2], false],
    [[4, 5, 6, 3], [1, 2], false], // not leading: tfjs's own
    [[4, 5], [0, 1], false], // all axes: tfjs's own
    [[4, 5], null, false], // all axes (tf.sum(x) passes null): tfjs's own
  ] as [number[], number[] | null, boolean][]
) {
  for (const simd of [true, false]) {
    Deno.test(
      `Sum on wasm equals cpu: ${shape} axes ${axis} keepDims ${keepDims}${
        simd ? "" : " (JS fallback)"
      }`,
      async () => {
        // large values with small ones: float64 accumulation matters
        const values = randoms(shape.reduce((p, q) => p * q), 21).map((v, i) =>
          i % 3 ? v : v * 1e6
        );
        _setSimdEnabled(simd);
        try {
          const a = await on("wasm", "Sum", { x: { shape, values } }, { axis, keepDims });
          const b = await on("cpu", "Sum", { x: { shape, values } }, { axis, keepDims });
          assertEquals(a.shape, b.shape);
          close(a.values, b.values, `${shape} ${axis}`);
        } finally {
          _setSimdEnabled(true);
        }
      },
    );
  }
}

Deno.test("Identity and same-dtype Cast share the data; freeing either keeps the other", async () => {
  await tf.setBackend("wasm");
  const ids = tf.backend().numDataIds();
  const x = tf.tensor2d([[1, 2], [3, 4]]);
  const y = tf.clone(x);
  const z = tf.cast(x, "float32");
  assertEquals(tf.backend().numDataIds(), ids + 1); // no copies
  x.dispose();
  assertEquals(Array.from(await y.data()), [1, 2, 3, 4]);
  y.dispose();
  assertEquals(Array.from(await z.data()), [1, 2, 3, 4]);
  z.dispose();
  assertEquals(tf.backend().numDataIds(), ids);
});

Deno.test("Cast on wasm equals cpu: to bool (x != 0, NaN is true), to int32 (truncation)", async () => {
  const x = { shape: [7], values: Float32Array.from([0.5, -0.25, 0, -0, NaN, 2.7, -2.7]) };
  for (const dtype of ["bool", "int32"]) {
    const a = await on("wasm", "Cast", { x }, { dtype });
    const b = await on("cpu", "Cast", { x }, { dtype });
    assertEquals(a.dtype, dtype);
    assertEquals(Array.from(a.values), Array.from(b.values), dtype);
  }
  const a = await on("wasm", "Cast", { x }, { dtype: "bool" });
  assertEquals(Array.from(a.values), [1, 1, 0, 0, 1, 1, 1]);
  const i = { shape: [3], values: Int32Array.from([-3, 0, 5]), dtype: "int32" as const };
  assertEquals(Array.from((await on("wasm", "Cast", { x: i }, { dtype: "float32" })).values), [
    -3,
    0,
    5,
  ]);
});

Deno.test("OneHot on wasm writes float32 ones (and custom values), skipping out-of-range ids", async () => {
  const indices = {
    shape: [2, 2],
    values: Int32Array.from([2, -1, 0, 3]),
    dtype: "int32" as const,
  };
  for (const dtype of ["float32", "int32"]) {
    const attrs = { depth: 3, onValue: 5, offValue: -1, dtype };
    const a = await on("wasm", "OneHot", { indices }, attrs);
    const b = await on("cpu", "OneHot", { indices }, attrs);
    assertEquals([a.shape, a.dtype], [[2, 2, 3], dtype]);
    assertEquals(Array.from(a.values), Array.from(b.values));
    assertEquals(Array.from(a.values), [-1, -1, 5, -1, -1, -1, 5, -1, -1, -1, -1, -1]);
  }
  const ones = await on("wasm", "OneHot", { indices }, {
    depth: 4,
    onValue: 1,
    offValue: 0,
    dtype: "float32",
  });
  assertEquals(ones.values[2], 1);
});
