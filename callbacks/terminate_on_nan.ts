import type { Callback, StateUpdate } from "../core/callback.ts";
import { memoryOf } from "../core/callback.ts";
import type { TrainState } from "../core/state.ts";

/** Options of {@linkcode terminateOnNaN}. */
export interface TerminateOnNaNOptions {
  /** Where the message goes when training is stopped. @default {console.warn} */
  readonly log?: (message: string) => void;
  /** Callback name (and memory key). @default {"terminateOnNaN"} */
  readonly name?: string;
}

/** Where {@linkcode terminateOnNaN} stopped training (its memory, once it did). */
export interface TerminateOnNaNMemory {
  /** Epoch of the batch, 0-based. */
  readonly epoch: number;
  /** Batch within the epoch, 0-based (v1's `num_batch`). */
  readonly batch: number;
  /** Training batches before it since the start of the fit. */
  readonly iteration: number;
  /** The loss the backward pass used (NaN or ±Infinity). */
  readonly loss: number;
  /** The message that was logged. */
  readonly message: string;
}

/**
 * fastai v1's `TerminateOnNaNCallback` (`fastai/callbacks/tracker.py`), made safe: it checks
 * the loss the backward pass used (`lastLoss` after any onBackwardBegin replacement, as
 * v1's `last_loss`), and when it is NaN or infinite that batch's optimizer step is skipped
 * (so a non-finite loss never reaches the weights; v1 steps first), then, as v1, the batch
 * end stops the epoch and training and validation is skipped. The memory and a logged
 * message say at which epoch and batch. It reads one loss per training batch (an async
 * read in onBackwardEnd, a device sync per batch). In a dry run, which has no loss tensor,
 * it checks `smoothLoss`. Validation losses are not watched (v1 also stops on a NaN
 * validation batch; fitloop reads validation once per epoch).
 *
 * @param options Where the message goes, and the name.
 * @returns The callback.
 *
 * @example Stops at the batch whose loss is NaN
 * ```ts
 * import { terminateOnNaN } from "@fitloop/fitloop/callbacks";
 * import { dryRun } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * const messages: string[] = [];
 * const run = await dryRun([terminateOnNaN({ log: (m) => messages.push(m) })], {
 *   epochs: 2,
 *   batchesPerEpoch: 5,
 *   losses: [1, 0.9, 0.8, NaN, 0.7],
 * });
 * assertEquals(run.history.nBatches, [4]);
 * assertEquals(run.history.valLosses, [NaN]); // validation skipped
 * assertEquals(messages, [
 *   "Epoch/Batch (0/3): invalid loss NaN, skipped its optimizer step and terminated training",
 * ]);
 * ```
 */
export function terminateOnNaN(options: TerminateOnNaNOptions = {}): Callback {
  const name = options.name ?? "terminateOnNaN";
  const log = options.log ?? ((message: string) => console.warn(message));
  const check = (s: TrainState, loss: number): StateUpdate | void => {
    if (Number.isFinite(loss)) return;
    const message = `Epoch/Batch (${s.epoch}/${s.numBatch}): invalid loss ${loss}, ` +
      "skipped its optimizer step and terminated training";
    log(message);
    const memory: TerminateOnNaNMemory = {
      epoch: s.epoch,
      batch: s.numBatch,
      iteration: s.iteration,
      loss,
      message,
    };
    return { skipStep: true, memory };
  };
  return {
    name,
    onBackwardEnd(s: TrainState): StateUpdate | void | Promise<StateUpdate | void> {
      if (!s.train) return;
      const loss = s.lastLoss;
      if (loss === undefined) return check(s, s.smoothLoss); // a dry run
      return loss.data().then((values) => check(s, values[0]!));
    },
    onBatchEnd(s: TrainState): StateUpdate | void {
      const stopped = memoryOf<TerminateOnNaNMemory | undefined>(s, name, undefined);
      if (s.train && stopped?.iteration === s.iteration) {
        return { stopEpoch: true, stopTraining: true, skipValidate: true };
      }
    },
  };
}
