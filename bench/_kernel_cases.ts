// Per-kernel before/after for `deno task bench`: each kernel fitloop registers for the
// WASM backend, on the shapes of the demo CNN and MLP (batch 64), timed against
// tfjs-wasm's own kernel (where tfjs has one) in the same process, interleaved.
import * as tf from "@tensorflow/tfjs";
import { _tfjsKernel, type KernelArgs } from "../backend/_wasm.ts";
import { _transposeThenXnnpack } from "../backend/_matmul_kernel.ts";

interface Case {
  readonly kernel: string;
  readonly what: string;
  readonly inputs: () => Record<string, tf.Tensor>;
  readonly attrs: Record<string, unknown>;
  /** What fitloop ran before its GEMM, where that differs from tfjs's own kernel. */
  readonly before?: (args: KernelArgs) => tf.TensorInfo;
}

const u = (shape: number[], seed: number) => tf.randomUniform(shape, -1, 1, "float32", seed);

const CASES: Case[] = [
  {
    kernel: "Conv2DBackpropInput",
    what: "CNN conv2 dx: dy 64x11x11x32, 3x3x16x32",
    inputs: () => ({ dy: u([64, 11, 11, 32], 1), filter: u([3, 3, 16, 32], 2) }),
    attrs: { strides: 1, pad: "valid", dataFormat: "NHWC", inputShape: [64, 13, 13, 16] },
  },
  {
    kernel: "Conv2DBackpropInput",
    what: "stride 2, same: dy 64x13x13x16, 3x3x16x16",
    inputs: () => ({ dy: u([64, 13, 13, 16], 3), filter: u([3, 3, 16, 16], 4) }),
    attrs: { strides: 2, pad: "same", dataFormat: "NHWC", inputShape: [64, 26, 26, 16] },
  },
  {
    kernel: "Conv2DBackpropFilter",
    what: "CNN conv1 dW: x 64x28x28x1, dy 64x26x26x16",
    inputs: () => ({ x: u([64, 28, 28, 1], 5), dy: u([64, 26, 26, 16], 6) }),
    attrs: { strides: 1, pad: "valid", dataFormat: "NHWC", filterShape: [3, 3, 1, 16] },
  },
  {
    kernel: "Conv2DBackpropFilter",
    what: "CNN conv2 dW: x 64x13x13x16, dy 64x11x11x32",
    inputs: () => ({ x: u([64, 13, 13, 16], 7), dy: u([64, 11, 11, 32], 8) }),
    attrs: { strides: 1, pad: "valid", dataFormat: "NHWC", filterShape: [3, 3, 16, 32] },
  },
  {
    kernel: "MaxPoolGrad",
    what: "CNN pool1: x 64x26x26x16, 2x2",
    inputs: () => {
      const input = u([64, 26, 26, 16], 9);
      return {
        input,
        dy: u([64, 13, 13, 16], 10),
        output: tf.maxPool(input as tf.Tensor4D, 2, 2, "valid"),
      };
    },
    attrs: { filterSize: 2, strides: 2, pad: "valid" },
  },
  {
    kernel: "MaxPoolGrad",
    what: "CNN pool2: x 64x11x11x32, 2x2",
    inputs: () => {
      const input = u([64, 11, 11, 32], 11);
      return {
        input,
        dy: u([64, 5, 5, 32], 12),
        output: tf.maxPool(input as tf.Tensor4D, 2, 2, "valid"),
      };
    },
    attrs: { filterSize: 2, strides: 2, pad: "valid" },
  },
  {
    kernel: "BatchMatMul",
    what: "MLP forward x.W1: 64x784, 784x256",
    inputs: () => ({ a: u([1, 64, 784], 23), b: u([1, 784, 256], 24) }),
    attrs: { transposeA: false, transposeB: false },
  },
  {
    kernel: "BatchMatMul",
    what: "MLP dW1 = xT.dy: 64x784 T, 64x256",
    inputs: () => ({ a: u([1, 64, 784], 13), b: u([1, 64, 256], 14) }),
    attrs: { transposeA: true, transposeB: false },
    before: _transposeThenXnnpack,
  },
  {
    kernel: "BatchMatMul",
    what: "MLP dx1 = dy.WT: 64x256, 784x256 T",
    inputs: () => ({ a: u([1, 64, 256], 15), b: u([1, 784, 256], 16) }),
    attrs: { transposeA: false, transposeB: true },
    before: _transposeThenXnnpack,
  },
  {
    kernel: "BatchMatMul",
    what: "MLP dW2 = hT.dy: 64x256 T, 64x10",
    inputs: () => ({ a: u([1, 64, 256], 25), b: u([1, 64, 10], 26) }),
    attrs: { transposeA: true, transposeB: false },
    before: _transposeThenXnnpack,
  },
  {
    kernel: "BatchMatMul",
    what: "MLP dh = dy.W2T: 64x10, 256x10 T",
    inputs: () => ({ a: u([1, 64, 10], 27), b: u([1, 256, 10], 28) }),
    attrs: { transposeA: false, transposeB: true },
    before: _transposeThenXnnpack,
  },
  {
    kernel: "BatchMatMul",
    what: "CNN dense dW = xT.dy: 64x800 T, 64x10",
    inputs: () => ({ a: u([1, 64, 800], 17), b: u([1, 64, 10], 18) }),
    attrs: { transposeA: true, transposeB: false },
    before: _transposeThenXnnpack,
  },
  {
    kernel: "_FusedMatMul",
    what: "MLP dense 2 (linear, bias): 64x256, 256x10",
    inputs: () => ({ a: u([1, 64, 256], 29), b: u([1, 256, 10], 30), bias: u([10], 31) }),
    attrs: { transposeA: false, transposeB: false, activation: "linear" },
  },
  {
    kernel: "_FusedMatMul",
    what: "MLP dense 1 in inference (relu, bias): 64x784, 784x256",
    inputs: () => ({ a: u([1, 64, 784], 32), b: u([1, 784, 256], 33), bias: u([256], 34) }),
    attrs: { transposeA: false, transposeB: false, activation: "relu" },
  },
  {
    kernel: "_FusedMatMul",
    what: "CNN dense (linear, bias): 64x800, 800x10",
    inputs: () => ({ a: u([1, 64, 800], 35), b: u([1, 800, 10], 36), bias: u([10], 37) }),
    attrs: { transposeA: false, transposeB: false, activation: "linear" },
  },
  {
    kernel: "Sum",
    what: "conv1 bias gradient: 64x26x26x16 over N,H,W",
    inputs: () => ({ x: u([64, 26, 26, 16], 19) }),
    attrs: { axis: [0, 1, 2], keepDims: false },
  },
  {
    kernel: "Identity",
    what: "64x26x26x16",
    inputs: () => ({ x: u([64, 26, 26, 16], 20) }),
    attrs: {},
  },
  {
    kernel: "Cast",
    what: "float32 to float32, 64x26x26x16",
    inputs: () => ({ x: u([64, 26, 26, 16], 21) }),
    attrs: { dtype: "float32" },
  },
  {
    kernel: "OneHot",
    what: "64 labels, depth 10, float32",
    inputs: () => ({ indices: tf.randomUniform([64], 0, 10, "int32", 22) }),
    attrs: { depth: 10, onValue: 1, offValue: 0, dtype: "float32" },
  },
];

/**
 * One row: median ms per call of fitloop's kernel, of tfjs's (undefined: none) and of
 * what fitloop ran before its GEMM (undefined: tfjs's own, or no change).
 */
export interface KernelRow {
  readonly kernel: string;
  readonly what: string;
  readonly fitloop: number;
  readonly tfjs: number | undefined;
  readonly before?: number | undefined;
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Times every case, fitloop's and tfjs's kernel interleaved, `reps` samples each. */
export function kernelRows(reps: number): KernelRow[] {
  const backend = tf.backend() as unknown as { disposeData(id: object): void };
  return CASES.map((c) => {
    const inputs = c.inputs();
    const ours = tf.getKernel(c.kernel, "wasm")!.kernelFunc;
    let theirs: tf.KernelFunc | undefined;
    try {
      const k = _tfjsKernel(c.kernel);
      theirs = k.kernelFunc === ours ? undefined : k.kernelFunc;
    } catch {
      theirs = undefined;
    }
    const time = (f: tf.KernelFunc): number => {
      const calls = 5;
      const t0 = performance.now();
      for (let i = 0; i < calls; i++) {
        const out = f({ inputs, attrs: c.attrs as tf.NamedAttrMap, backend: tf.backend() });
        backend.disposeData((out as tf.TensorInfo).dataId);
      }
      return (performance.now() - t0) / calls;
    };
    const before = c.before as tf.KernelFunc | undefined;
    time(ours);
    if (theirs) time(theirs);
    if (before) time(before);
    const a: number[] = [];
    const b: number[] = [];
    const p: number[] = [];
    for (let r = 0; r < reps; r++) {
      a.push(time(ours));
      if (theirs) b.push(time(theirs));
      if (before) p.push(time(before));
    }
    tf.dispose(Object.values(inputs));
    return {
      kernel: c.kernel,
      what: c.what,
      fitloop: median(a),
      tfjs: theirs ? median(b) : undefined,
      before: before ? median(p) : undefined,
    };
  });
}
