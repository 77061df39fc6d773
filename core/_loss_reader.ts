// Lagged reads of the training losses: without a callback that needs each batch's loss at
// once, losses are stacked in groups of `every` and read with one async device-to-host
// transfer, started when a group is full and awaited when the next group is: the device is
// never stalled per batch, and the history is the same as with immediate reads.
import * as tf from "@tensorflow/tfjs";
import { recordLoss, type TrainState } from "./state.ts";
import type { Tensor } from "./types.ts";

/** The loss reader of a fit. */
export interface LossReader {
  /** Adds a batch's loss (the reader takes ownership); records what a finished read gave. */
  push(s: TrainState, loss: Tensor): Promise<TrainState>;
  /** Reads every loss still pending (at the end of an epoch). */
  drain(s: TrainState): Promise<TrainState>;
  /** Frees what is pending without reading it (after an error). */
  release(): void;
}

/** A reader that reads `every` losses at a time (1: each loss at once, a sync per batch). */
export function lossReader(every: number): LossReader {
  let queue: Tensor[] = [];
  let reading: { tensor: Tensor; data: Promise<ArrayLike<number>> } | undefined;
  const start = (): void => {
    if (queue.length === 0) return;
    const tensor = queue.length === 1 ? queue[0]! : tf.stack(queue);
    if (queue.length > 1) tf.dispose(queue);
    queue = [];
    reading = { tensor, data: tensor.data() as Promise<ArrayLike<number>> };
  };
  const collect = async (s: TrainState): Promise<TrainState> => {
    const r = reading;
    if (!r) return s;
    reading = undefined;
    try {
      const values = await r.data;
      for (let i = 0; i < values.length; i++) s = recordLoss(s, values[i]!);
    } finally {
      r.tensor.dispose();
    }
    return s;
  };
  return {
    async push(s: TrainState, loss: Tensor): Promise<TrainState> {
      queue.push(loss);
      if (queue.length < every) return s;
      s = await collect(s);
      start();
      return every === 1 ? await collect(s) : s;
    },
    async drain(s: TrainState): Promise<TrainState> {
      s = await collect(s);
      start();
      return await collect(s);
    },
    release(): void {
      tf.dispose(queue);
      queue = [];
      if (reading) {
        reading.data.then(undefined, () => {});
        reading.tensor.dispose();
        reading = undefined;
      }
    },
  };
}
