import type { Callback, FitContext, StateUpdate } from "../core/callback.ts";
import { snapshot } from "../core/snapshot.ts";
import type { TrainState } from "../core/state.ts";
import { memoryOf } from "../core/callback.ts";
import { checkOptions } from "../core/_options.ts";

/** Options of {@linkcode snapshotEvery}: one of `batches`, `epochs`, `seconds`, and `dir`. */
export interface SnapshotEveryOptions {
  /** Where to write (each snapshot replaces the last, atomically). */
  readonly dir: string;
  /** Every this many training batches. */
  readonly batches?: number;
  /** Every this many epochs (at the epoch's end). */
  readonly epochs?: number;
  /** At the end of the first training batch after this many seconds since the last. */
  readonly seconds?: number;
  /** The clock, in milliseconds. @default {performance.now} */
  readonly now?: () => number;
}

/** The memory of {@linkcode snapshotEvery}. */
export interface SnapshotEveryMemory {
  /** Iteration (batches done) of the last snapshot, or -1. */
  readonly lastIteration: number;
  /** Snapshots written. */
  readonly written: number;
  /** Clock time (ms) of the last snapshot or of the start; a resumed run starts anew. */
  readonly lastTime: number;
}

/**
 * Writes a snapshot during training, every `batches` training batches, every `epochs`
 * epochs or every `seconds`, so that a run killed at any point resumes with
 * `fit(learn, epochs, { resume: dir })` from the last one, bit for bit on the cpu
 * backend. It runs after every other callback (order 10,000) and reads each batch's loss
 * (`needsLoss`) so the state it saves is complete. Gradients being accumulated across
 * batches (accumulateGradients) are not saved: snapshot at a step boundary.
 *
 * @param options Directory and frequency.
 * @returns The callback.
 * @throws {RangeError} If not exactly one of batches, epochs, seconds is a positive number.
 *
 * @example
 * ```ts
 * import { snapshotEvery } from "@fitloop/fitloop/callbacks";
 * import { assertEquals } from "@std/assert";
 * assertEquals(snapshotEvery({ dir: "runs/snap", batches: 100 }).name, "snapshotEvery");
 * ```
 */
export function snapshotEvery(options: SnapshotEveryOptions): Callback {
  checkOptions(
    "create snapshotEvery",
    options,
    ["dir", "batches", "epochs", "seconds", "now"],
    "{ dir, batches | epochs | seconds }",
  );
  const given = (["batches", "epochs", "seconds"] as const).filter((k) => options[k] !== undefined);
  if (given.length !== 1 || !(options[given[0]!]! > 0)) {
    throw new RangeError(
      `Cannot create snapshotEvery as exactly one of 'batches', 'epochs', 'seconds' must be a positive number: ` +
        `current values are ${options.batches}, ${options.epochs} and ${options.seconds}`,
    );
  }
  const name = "snapshotEvery";
  const now = options.now ?? (() => performance.now());
  const initial: SnapshotEveryMemory = { lastIteration: -1, written: 0, lastTime: -Infinity };
  /** The memory; a clock time from another process (a resumed run) counts as now. */
  const memOf = (s: TrainState): SnapshotEveryMemory => {
    const m = memoryOf(s, name, initial);
    const t = now();
    return m.lastTime > -Infinity && m.lastTime <= t ? m : { ...m, lastTime: t };
  };
  const write = async (s: TrainState, ctx: FitContext, inBatch: boolean): Promise<StateUpdate> => {
    const m = memOf(s);
    const memory: SnapshotEveryMemory = {
      lastIteration: s.iteration + (inBatch ? 1 : 0),
      written: m.written + 1,
      lastTime: now(),
    };
    if (ctx.learner) {
      // the snapshot holds this callback's memory as it will be after this write
      await snapshot(ctx.learner, { ...s, memory: { ...s.memory, [name]: memory } }, {
        dir: options.dir,
        inBatch,
      });
    }
    return { memory };
  };
  return {
    name,
    order: 10_000,
    needsLoss: options.epochs === undefined,
    onTrainBegin: (): StateUpdate => ({ memory: { ...initial, lastTime: now() } }),
    async onBatchEnd(s, ctx): Promise<StateUpdate | void> {
      if (!s.train || options.epochs !== undefined) return;
      const due = options.batches !== undefined
        ? (s.iteration + 1) % options.batches === 0
        : now() - memOf(s).lastTime >= options.seconds! * 1000;
      if (due) return await write(s, ctx, true);
    },
    async onEpochEnd(s, ctx): Promise<StateUpdate | void> {
      if (options.epochs !== undefined && (s.epoch + 1) % options.epochs === 0) {
        return await write(s, ctx, false);
      }
    },
  };
}
