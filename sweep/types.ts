/**
 * The records every part of a sweep shares: the direction, a trial's reports and how a
 * trial ended. No imports, so the pruners, the storages and the executor all depend on
 * this file and never on each other.
 *
 * @module
 */

/** Whether a sweep minimizes or maximizes its objective. */
export type Direction = "minimize" | "maximize";

/** Every trial's monitored value at each epoch so far, by trial index. */
export type TrialReports = ReadonlyMap<number, readonly number[]>;

/** How a trial ended. */
export type TrialStatus = "finished" | "pruned" | "failed";

/** One ended trial, as a storage keeps it. */
export interface TrialRecord {
  /** The trial's parameters as canonical JSON (see `trialKey`); informative, not its identity. */
  readonly key: string;
  /** The trial's identity in its sweep: its index (0-based). */
  readonly index: number;
  /** The parameters. */
  readonly params: Readonly<Record<string, unknown>>;
  /** How it ended. */
  readonly status: TrialStatus;
  /** The objective (the last reported value for a pruned trial); null if failed. */
  readonly objective: number | null;
  /** Validation loss and metrics at the end of each epoch, by name (NaN kept as null). */
  readonly epochs: readonly Readonly<Record<string, number | null>>[];
  /** Wall time in seconds. */
  readonly seconds: number;
  /** Why it failed. */
  readonly error?: string;
  /** Which run of this trial it was (1 for the first; a re-run after a failure adds one). @default {1} */
  readonly attempt?: number;
  /** The worker that ran it (`host:pid:tag`). */
  readonly worker?: string;
}

/** Which of `count` machines runs this part of the plan: trial `i` goes to shard `i % count`. */
export interface Shard {
  /** This shard, 0-based. */
  readonly index: number;
  /** Number of shards. */
  readonly count: number;
}
