// Tensor ownership for one batch: which tensors the loop must free when the batch ends
// (those it made, those a data source hands over, those hooks put in the state) and which
// belong to the caller (tensors yielded by a plain iterable are never freed).
import * as tf from "@tensorflow/tfjs";
import type { TrainState } from "./state.ts";
import type { LoopBatch } from "./_epoch.ts";
import type { Tensor } from "./types.ts";

/** The tensors inside a value (a tensor, an array or a record of them), in order. */
export function tensorsOf(value: unknown, into: Tensor[] = []): Tensor[] {
  if (value instanceof tf.Tensor) into.push(value);
  else if (Array.isArray(value)) { for (const v of value) tensorsOf(v, into); }
  else if (value && typeof value === "object") {
    for (const v of Object.values(value)) tensorsOf(v, into);
  }
  return into;
}

/** The batch-scoped tensors of a fit. */
export interface TensorOwner {
  /** Takes the batch in hand: its tensors are the loop's or the caller's, as the source says. */
  startBatch(batch: LoopBatch): void;
  /** Takes ownership of every tensor in `value`. */
  own(value: unknown): void;
  /** Takes ownership of tensors a hook put in the state (an update observer). */
  adopt(before: TrainState, after: TrainState): void;
  /** Frees the batch's tensors, except those in `keep`. */
  endBatch(keep?: ReadonlySet<Tensor>): void;
}

const BATCH_FIELDS = ["lastInput", "lastTarget", "lastOutput", "lastLoss", "grads"] as const;

/** A fresh owner. */
export function tensorOwner(): TensorOwner {
  const owned: Tensor[] = [];
  const callers = new Set<Tensor>();
  return {
    startBatch(batch: LoopBatch): void {
      if (batch.owned) {
        tensorsOf(batch.input, owned);
        tensorsOf(batch.target, owned);
      } else {
        for (const t of tensorsOf([batch.input, batch.target])) callers.add(t);
      }
    },
    own(value: unknown): void {
      tensorsOf(value, owned);
    },
    adopt(before: TrainState, after: TrainState): void {
      for (const field of BATCH_FIELDS) {
        if (after[field] === before[field]) continue;
        for (const t of tensorsOf(after[field])) if (!callers.has(t)) owned.push(t);
      }
    },
    endBatch(keep?: ReadonlySet<Tensor>): void {
      for (const t of owned) {
        if (!t.isDisposed && !callers.has(t) && !keep?.has(t)) t.dispose();
      }
      owned.length = 0;
      callers.clear();
    },
  };
}
