// fitloop's WASM training kernels against the cpu backend's, on random shapes: strides 1
// and 2, valid / same / explicit padding, dilation, odd sizes, batch 1. Float32 tolerance.
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { assert, assertEquals } from "@std/assert";
import "../../backend/_env.ts";
import { mulberry32 } from "../../core/_rng.ts";
import { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from "../../backend/wasm_kernels.ts";

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
  inputs: Record<string, { shape: number[]; values: Float32Array | Int32Array; dtype?: "int32" }>,
  attrs: Record<string, unknown>,
): Promise<{ shape: number[]; values: Float32Array }> {
  await tf.setBackend(backend);
  const made = Object.fromEntries(
    Object.entries(inputs).map(([k, v]) => [k, tf.tensor(v.values, v.shape, v.dtype ?? "float32")]),
  );
  const before = tf.memory().numTensors;
  const out = tf.engine().runKernel(kernel, made, attrs as tf.NamedAttrMap) as tf.Tensor;
  assertEquals(
    tf.memory().numTensors,
    before + 1,
    `${kernel} on ${backend} leaves only its output`,
  );
  const values = (await out.data()) as Float32Array;
  const shape = out.shape;
  tf.dispose([out, ...Object.values(made)]);
  return { shape, values };
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

  Deno.test(`Conv2DBackpropFilter on wasm equals cpu: ${label}`, async () => {
    const co = 4;
    const dy = { shape: [cs.n, oh, ow, co], values: randoms(cs.n * oh * ow * co, seed++) };
    const attrs = {
      strides: cs.s,
      pad: cs.pad,
      dataFormat: "NHWC",
      dilations: cs.d,
      filterShape: [...cs.f, cs.c, co],
    };
    const a = await on("wasm", "Conv2DBackpropFilter", { x, dy }, attrs);
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
  });

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

Deno.test("registerWasmTrainingKernels() never replaces a kernel tfjs has and is idempotent", () => {
  assertEquals(registerWasmTrainingKernels(), []);
  for (const name of WASM_TRAINING_KERNELS) assert(tf.getKernel(name, "wasm"));
  // kernels tfjs-wasm ships are left alone
  const conv = tf.getKernel("Conv2D", "wasm")!;
  registerWasmTrainingKernels();
  assert(tf.getKernel("Conv2D", "wasm") === conv);
});
