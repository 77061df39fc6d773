/**
 * Where a sweep keeps its trials: the interface every storage implements, so that one
 * executor runs a study alone, from several processes sharing a journal file
 * (`journalStorage`) or from any number of machines sharing one PostgreSQL
 * database (`postgresStorage`).
 *
 * A trial is identified by its index. A worker (one `sweep()` call) claims the next trial
 * atomically — a trial never claimed, one whose worker stopped sending heartbeats, or one
 * that failed before this worker started — records each epoch, sends heartbeats while it
 * runs and finishes it. Only the worker holding the current attempt may finish a trial,
 * so a trial ends exactly once even when a worker that was given up for dead comes back.
 *
 * @module
 */
import type { Direction, Shard, TrialRecord, TrialReports } from "./types.ts";

/** One `sweep()` call, as the storage sees it. */
export interface WorkerInfo {
  /** Unique id: `host:pid:tag`. */
  readonly id: string;
  /** The machine's name. */
  readonly host: string;
  /** The process id. */
  readonly pid: number;
}

/** What every worker of a study must agree on. */
export interface StudyInfo {
  /** The objective's metric. */
  readonly monitor: string;
  /** Whether it is minimized or maximized. */
  readonly direction: Direction;
  /** The sampler's name. */
  readonly sampler: string;
}

/** A trial attempt held by a worker. */
export interface TrialRef {
  /** The trial's index. */
  readonly index: number;
  /** The attempt (1 for the first run). */
  readonly attempt: number;
  /** The claim's token: unique per claim, so a retried claim finds itself. */
  readonly token: string;
}

/** A claimed trial: its attempt and parameters. */
export interface ClaimedTrial extends TrialRef {
  /** The parameters (a re-run keeps the first attempt's). */
  readonly params: Readonly<Record<string, unknown>>;
}

/** What a claim found: a trial to run, nothing yet (trials of other workers still run), or nothing left. */
export type ClaimOutcome =
  | { readonly kind: "trial"; readonly trial: ClaimedTrial }
  | { readonly kind: "wait" }
  | { readonly kind: "done" };

/** What a worker asks for when it claims. */
export interface ClaimRequest {
  /** The claiming worker. */
  readonly worker: WorkerInfo;
  /** Trials 0..size-1 make the sweep. */
  readonly size: number;
  /** Only trials of this shard. @default {undefined} */
  readonly shard?: Shard;
  /** Re-run trials that failed before this storage time (ms); undefined re-runs none. */
  readonly rerunFailedBefore?: number;
  /** A fresh token for this claim. */
  readonly token: string;
  /** Parameters of a trial never run, given the ended trials (called inside the claim). */
  readonly propose: (
    index: number,
    history: readonly TrialRecord[],
  ) => Readonly<Record<string, unknown>>;
}

/** A sweep's storage. */
export interface SweepStorage {
  /** Where it is, for messages (a path, or a URL without its password). */
  readonly location: string;
  /** Heartbeat period in seconds: a running trial's worker beats this often. */
  readonly heartbeatSeconds: number;
  /**
   * Opens the study, creating it if needed, and returns the storage's clock (ms).
   * @throws {RangeError} If the study exists with another monitor or direction.
   */
  open(study: StudyInfo, worker: WorkerInfo): Promise<number>;
  /** Claims the next trial atomically (see {@linkcode ClaimRequest}). */
  claim(request: ClaimRequest): Promise<ClaimOutcome>;
  /**
   * Records an epoch of a running attempt and returns every trial's reports (the failed
   * ones' left out), for pruning.
   * @throws {Error} If the attempt is no longer this worker's (it was given up for dead).
   */
  report(
    trial: TrialRef,
    epoch: number,
    metrics: Readonly<Record<string, number>>,
    value: number,
  ): Promise<TrialReports>;
  /** Marks running attempts alive. */
  heartbeat(trials: readonly TrialRef[]): Promise<void>;
  /** Ends an attempt; false if it was no longer this worker's (nothing is written then). */
  finish(trial: TrialRef, record: TrialRecord): Promise<boolean>;
  /** Every ended trial (its latest attempt), by index. */
  trials(): Promise<TrialRecord[]>;
  /** Releases files or connections. */
  close(): Promise<void>;
}
