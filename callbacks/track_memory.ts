import * as tf from "@tensorflow/tfjs";
import type { Callback, StateUpdate } from "../core/callback.ts";
import type { TrainState } from "../core/state.ts";
import { memoryOf } from "../core/callback.ts";

/** What `tf.memory()` reports that trackMemory reads (injectable for tests). */
export interface MemoryInfo {
  /** Live tensors. */
  readonly numTensors: number;
  /** Bytes held by live tensors. */
  readonly numBytes: number;
}

/** Options of {@linkcode trackMemory}. */
export interface TrackMemoryOptions {
  /** Where the warning about a growing tensor count goes. @default {console.warn} */
  readonly warn?: (message: string) => void;
  /** The memory reader. @default {tf.memory} */
  readonly memory?: () => MemoryInfo;
}

/** The memory of {@linkcode trackMemory}. */
export interface TrackMemoryMemory {
  /** Most bytes seen in the epoch in hand (sampled at each batch's busiest points). */
  readonly peakBytes: number;
  /** Tensors alive at the end of each epoch so far. */
  readonly tensors: readonly number[];
  /** The warnings given, one per epoch whose tensor count grew. */
  readonly warnings: readonly string[];
}

const INITIAL: TrackMemoryMemory = { peakBytes: 0, tensors: [], warnings: [] };

/**
 * Tracks tfjs memory per epoch (fastai's PeakMemMetric, for tfjs's trap: every tensor
 * needs an owner). Adds `tensors`, `bytes` (live after the epoch) and `peakBytes` (the
 * most bytes seen during it, sampled before the backward pass, after it and at each
 * batch's end) to `lastMetrics`, so they show in the history, the progress bar and the
 * CSV log. When the tensor count at an epoch's end is higher than at the previous
 * epoch's end, it warns, naming the epoch: tensors that outlive their batch are a leak
 * in user code or in a callback. (The optimizer's moments appear during the first epoch,
 * and when frozen groups are unfrozen: the warning then names them as a possible cause.)
 * Reads only counters: no device read.
 *
 * @param options Where warnings go (and a memory reader, for tests).
 * @returns The callback.
 *
 * @example A leak of one tensor per epoch is named
 * ```ts
 * import { trackMemory } from "@fitloop/fitloop/callbacks";
 * import { dryRun } from "@fitloop/fitloop/core";
 * import { assertEquals, assertStringIncludes } from "@std/assert";
 * let live = 10;
 * const warnings: string[] = [];
 * const leak = { name: "leak", onEpochBegin: () => void (live += 1) };
 * const run = await dryRun([leak, trackMemory({
 *   memory: () => ({ numTensors: live, numBytes: live * 4 }),
 *   warn: (m) => void warnings.push(m),
 * })], { epochs: 3, batchesPerEpoch: 2 });
 * assertEquals(run.history.metricNames, ["tensors", "bytes", "peakBytes"]);
 * assertEquals(run.history.metrics.map((m) => m[0]), [11, 12, 13]);
 * assertEquals(warnings.length, 2);
 * assertStringIncludes(warnings[0]!, "epoch 1");
 * ```
 */
export function trackMemory(options: TrackMemoryOptions = {}): Callback {
  const warn = options.warn ?? ((m: string) => console.warn(m));
  const read = options.memory ?? ((): MemoryInfo => tf.memory());
  const name = "trackMemory";
  const sample = (s: TrainState): StateUpdate | void => {
    const m = memoryOf(s, name, INITIAL);
    const bytes = read().numBytes;
    if (bytes > m.peakBytes) return { memory: { ...m, peakBytes: bytes } };
  };
  return {
    name,
    order: -20, // its metrics are in lastMetrics before loggers and trackers read them
    addsMetrics: ["tensors", "bytes", "peakBytes"],
    onTrainBegin: (): StateUpdate => ({ memory: INITIAL }),
    onEpochBegin: (s: TrainState): StateUpdate => ({
      memory: { ...memoryOf(s, name, INITIAL), peakBytes: read().numBytes },
    }),
    onBackwardBegin: sample,
    onBackwardEnd: sample,
    onBatchEnd: sample,
    onEpochEnd(s: TrainState): StateUpdate {
      const m = memoryOf(s, name, INITIAL);
      const now = read();
      const previous = m.tensors.at(-1);
      let warnings = m.warnings;
      if (previous !== undefined && now.numTensors > previous) {
        const message = `trackMemory: the tensor count grew in epoch ${s.epoch}, from ` +
          `${previous} to ${now.numTensors} (+${now.numTensors - previous}) at the epoch's end: ` +
          `tensors that outlive their batch (a leak in user code or a callback), or new ` +
          `optimizer moments (layer groups unfrozen)`;
        warn(message);
        warnings = [...warnings, message];
      }
      return {
        memory: { ...m, tensors: [...m.tensors, now.numTensors], warnings },
        lastMetrics: [
          ...s.lastMetrics,
          now.numTensors,
          now.numBytes,
          Math.max(m.peakBytes, now.numBytes),
        ],
        metricNames: [...s.metricNames, "tensors", "bytes", "peakBytes"],
      };
    },
  };
}
