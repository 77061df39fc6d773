// Shared test fixtures: the cpu backend, small models and a tensor-count guard.
import * as tf from "@tensorflow/tfjs";
import "../backend/_env.ts";
import { type Batches, batches } from "../core/data.ts";
import type { HandModel } from "../core/types.ts";
import type { Variable } from "../core/types.ts";

/** Selects the cpu backend (deterministic and always there). */
export async function useCpu(): Promise<void> {
  await tf.setBackend("cpu");
  await tf.ready();
}

/** A one-weight model y = w * x with w starting at `w0`; dispose with `dispose()`. */
export function scaleModel(w0 = 0): HandModel & { w: Variable; dispose(): void } {
  const init = tf.scalar(w0);
  const w = tf.variable(init, true);
  init.dispose();
  return {
    w,
    variables: [w],
    apply: (x) => tf.mul(x as tf.Tensor, w),
    dispose: () => w.dispose(),
  };
}

/** `[x, y]` batches of a 2-class problem separable by the sign of x0 + x1 (seeded). */
export function blobs(n: number, seed: number, batchSize = 32): Batches {
  const x = tf.randomNormal([n, 2], 0, 1, "float32", seed);
  const y = tf.tidy(() => tf.cast(tf.greater(tf.sum(x, 1), 0), "int32"));
  return batches(x, y, { batchSize, shuffle: true, seed });
}

/** Disposes the tensors of `batches()` made from tensors. */
export function disposeBatches(...bs: Batches[]): void {
  for (const b of bs) tf.dispose([b.x, b.y]);
}

/** A 2-16-2 MLP. */
export function mlp(seed = 1): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.dense({
        units: 16,
        inputShape: [2],
        activation: "relu",
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
      }),
      tf.layers.dense({
        units: 2,
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
      }),
    ],
  });
}

/** Reads a scalar. */
export async function num(t: tf.Tensor): Promise<number> {
  return (await t.data())[0]!;
}
