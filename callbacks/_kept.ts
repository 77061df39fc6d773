// Tensors a callback keeps in its memory between batches (device-side sums, losses not yet
// read), also tracked here: when training fails, the loop's last state may predate the
// batch that made some of them, so onTrainEnd frees what this record still holds.
import * as tf from "@tensorflow/tfjs";
import type { Tensor } from "../core/types.ts";

/** A callback's kept tensors. */
export interface Kept {
  /** Tracks a tensor and returns it. */
  keep<T extends Tensor>(t: T): T;
  /** Frees tensors (tracked or not: a resumed run's come from a snapshot). */
  free(ts: readonly (Tensor | undefined)[]): void;
  /** Frees every tracked tensor. */
  freeAll(): void;
}

/** A fresh tracker. */
export function _kept(): Kept {
  const live = new Set<Tensor>();
  return {
    keep<T extends Tensor>(t: T): T {
      live.add(t);
      return t;
    },
    free(ts: readonly (Tensor | undefined)[]): void {
      for (const t of ts) {
        if (!t) continue;
        live.delete(t);
        tf.dispose(t);
      }
    },
    freeAll(): void {
      tf.dispose([...live]);
      live.clear();
    },
  };
}
