// A hand-written linear model y = x . w + b on fixed batches, with its mean-squared-error
// gradient in float64: the reference the technique tests compute their expectations from.
import * as tf from "@tensorflow/tfjs";
import type { HandModel, Input, Tensor, Variable } from "../core/types.ts";

/** The linear model, counting its forward passes. */
export interface Linear extends HandModel {
  readonly w: Variable;
  readonly b: Variable;
  /** Forward passes so far. */
  calls: number;
  dispose(): void;
}

/** y = x . w + b with w (2 values) and b starting where given. */
export function linear(w0: readonly [number, number] = [0.5, -0.25], b0 = 0.1): Linear {
  const w = tf.variable(tf.tensor2d([[w0[0]], [w0[1]]]), true);
  const b = tf.variable(tf.tensor1d([b0]), true);
  const m: Linear = {
    w,
    b,
    calls: 0,
    variables: [w, b],
    apply(x: Input): Tensor {
      m.calls++;
      return tf.add(tf.matMul(x as Tensor, w), b);
    },
    dispose: () => tf.dispose([w, b]),
  };
  return m;
}

/** Three batches of two samples: inputs. */
export const XS: readonly (readonly (readonly [number, number])[])[] = [
  [[1, 2], [0.5, -1]],
  [[-1, 0.5], [2, 1]],
  [[0.3, 0.7], [-0.2, 1.5]],
];
/** Their targets. */
export const YS: readonly (readonly number[])[] = [[1, -1], [0.5, 2], [0, 1]];

/** The batches as tensors (`[x, y]` pairs the caller owns) and how to free them. */
export function linearData(): { batches: [Tensor, Tensor][]; dispose(): void } {
  const batches = XS.map((xs, i) =>
    [
      tf.tensor2d(xs.map((r) => [...r])),
      tf.tensor2d(YS[i]!.map((v) => [v])),
    ] as [Tensor, Tensor]
  );
  return { batches, dispose: () => tf.dispose(batches.flat()) };
}

/** Parameters as one float64 vector: [w0, w1, b]. */
export type P = readonly [number, number, number];

/** The mse gradient at `p` on batch `i`, in float64. */
export function grad(p: P, i: number): [number, number, number] {
  const xs = XS[i]!;
  const n = xs.length;
  const g: [number, number, number] = [0, 0, 0];
  xs.forEach(([x0, x1], j) => {
    const r = x0 * p[0] + x1 * p[1] + p[2] - YS[i]![j]!;
    g[0] += (2 / n) * r * x0;
    g[1] += (2 / n) * r * x1;
    g[2] += (2 / n) * r;
  });
  return g;
}

/** The model's parameters now, as [w0, w1, b]. */
export async function paramsOf(m: Linear): Promise<[number, number, number]> {
  const w = await m.w.data();
  const b = await m.b.data();
  return [w[0]!, w[1]!, b[0]!];
}

/** Asserts two parameter vectors agree to `tol` relative (float32 against float64). */
export function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5): void {
  if (actual.length !== expected.length) {
    throw new Error(`${actual.length} components, expected ${expected.length}`);
  }
  Array.from(actual).forEach((a, i) => {
    const e = expected[i]!;
    if (!(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)))) {
      throw new Error(
        `component ${i}: ${a} is not ${e} (to ${tol}); all: [${Array.from(actual)}] vs [${
          Array.from(expected)
        }]`,
      );
    }
  });
}
