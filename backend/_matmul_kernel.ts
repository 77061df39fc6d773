// BatchMatMul for tfjs's WASM backend. tfjs-wasm multiplies with XNNPACK only when
// neither operand is transposed and the batch is 1; any transposed operand (every
// gradient of a dense layer: dW = xᵀ·dy, dx = dy·Wᵀ) falls to a plain triple loop.
// Here the transposed operand is transposed in memory first (tfjs-wasm's Transpose),
// then multiplied by XNNPACK.
import * as tf from "@tensorflow/tfjs";
import { _callTfjs, _withScratch, type Info, type KernelArgs } from "./_wasm.ts";

export function batchMatMul(args: KernelArgs): Info {
  const { a, b } = args.inputs as { a: Info; b: Info };
  const { transposeA, transposeB } = args.attrs as unknown as {
    transposeA: boolean;
    transposeB: boolean;
  };
  if (!transposeA && !transposeB) return _callTfjs("BatchMatMul", args);
  if (a.dtype !== "float32" || b.dtype !== "float32") return _callTfjs("BatchMatMul", args);
  return _withScratch(args.backend, (k) => {
    const flat = (t: Info, transposed: boolean): Info => {
      if (!transposed) return t;
      const r = t.shape.length;
      const batch = tf.util.sizeFromShape(t.shape.slice(0, -2));
      const t3 = k.reshape(t, [batch, t.shape[r - 2]!, t.shape[r - 1]!]);
      const tt = k.run("Transpose", { x: t3 }, { perm: [0, 2, 1] });
      return k.reshape(tt, [...t.shape.slice(0, -2), t.shape[r - 1]!, t.shape[r - 2]!]);
    };
    const a2 = flat(a, transposeA);
    const b2 = flat(b, transposeB);
    return k.run("BatchMatMul", { a: a2, b: b2 }, { transposeA: false, transposeB: false });
  });
}
