// Gradients kept across batches: when onStepEnd sets `skipZero`, the batch's gradients
// are kept and added to the next batch's (gradient accumulation).
import * as tf from "@tensorflow/tfjs";
import type { TensorOwner } from "./_tensor_owner.ts";
import type { Grads, Tensor } from "./types.ts";

/** The accumulator of a fit. */
export interface GradAccumulator {
  /** Keeps `grads` for the next batch; returns the tensors the batch's end must not free. */
  keep(grads: Grads): ReadonlySet<Tensor>;
  /** This batch's gradients plus the kept ones (the owner frees both with the batch). */
  merge(grads: Grads | undefined, owner: TensorOwner): Grads | undefined;
  /** Frees kept gradients (at the end of a fit). */
  release(): void;
}

/** An empty accumulator. */
export function gradAccumulator(): GradAccumulator {
  let pending: Grads | undefined;
  return {
    keep(grads: Grads): ReadonlySet<Tensor> {
      pending = grads;
      return new Set(Object.values(grads));
    },
    merge(grads: Grads | undefined, owner: TensorOwner): Grads | undefined {
      const kept = pending;
      if (!kept) return grads;
      pending = undefined;
      owner.own(kept);
      if (!grads) return kept;
      const merged: Record<string, Tensor> = {};
      for (const name of new Set([...Object.keys(kept), ...Object.keys(grads)])) {
        const a = kept[name];
        const b = grads[name];
        merged[name] = a && b ? tf.add(a, b) : (a ?? b)!;
      }
      owner.own(merged);
      return merged;
    },
    release(): void {
      if (pending) tf.dispose(Object.values(pending));
      pending = undefined;
    },
  };
}
