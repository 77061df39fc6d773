/**
 * Scripted hyper-parameter sweeps: a sampler gives each trial's parameters, an executor
 * runs the trials, up to `concurrency` at a time, each in its own Deno Worker (its own
 * tfjs) or child process when the trial is a module, so that a trial that crashes is
 * marked failed and the sweep goes on. Pruning is a callback in every trial. Trials live
 * in a storage: in memory, a journal file that a re-run resumes from (and that several
 * processes on one machine may share), or a PostgreSQL database that any number of
 * machines share.
 *
 * @module
 */
import type { Callback } from "../core/callback.ts";
import type { Pruner, TrialChannel } from "./pruner_callback.ts";
import { shouldPrune } from "./pruner_callback.ts";
import { trialKey } from "./journal.ts";
import { journalStorage } from "./journal_storage.ts";
import { postgresStorage } from "./postgres_storage.ts";
import { memoryStorage } from "./_memory_storage.ts";
import { checkKeys } from "./_options.ts";
import {
  type ModuleRef,
  type Outcome,
  runInChild,
  runInProcess,
  runInWorker,
  type TrialFn,
  type TrialSetup,
} from "./_isolation.ts";
import type { TrialResult } from "./_protocol.ts";
import type { ParamsOf, Sampler, SearchSpace } from "./search_space.ts";
import type { SweepStorage, TrialRef, WorkerInfo } from "./storage.ts";
import type { Direction, Shard, TrialRecord, TrialStatus } from "./types.ts";

export type { TrialResult } from "./_protocol.ts";
export type { Shard } from "./types.ts";

/** What a trial gets besides its parameters. */
export interface TrialContext {
  /** The trial's index in the sweep. */
  readonly trialId: number;
  /** Callbacks to pass to the trial's `fit`: the sweep's reporter and pruner. */
  readonly callbacks: readonly Callback[];
}

/** A trial run in the sweep's own process. */
export type TrialFunction<P> = (params: P, ctx: TrialContext) => TrialResult | Promise<TrialResult>;

/** A trial run in a Deno Worker or a child process: a module and the name of the function it exports. */
export interface TrialModule {
  /** The module's URL (for example `new URL("../trial.ts", import.meta.url)`). */
  readonly module: string | URL;
  /** The exported trial function. @default {"trial"} */
  readonly export?: string;
}

/** Options of {@linkcode sweep}. */
export interface SweepOptions<S extends SearchSpace> {
  /** The search space. */
  readonly space: S;
  /** The trial: a function (in-process) or a module (each trial in its own Worker or process). */
  readonly trial: TrialFunction<ParamsOf<S>> | TrialModule;
  /** How trials get their parameters: `grid()`, `random({ n, seed })` or `tpe({ n, seed })`. */
  readonly sampler: Sampler;
  /** Trials running at once in this process. @default {1} */
  readonly concurrency?: number;
  /** Stops trials early. @default {undefined} */
  readonly pruner?: Pruner;
  /**
   * Where trials are kept: a journal path (JSONL, resumable, shareable by processes on
   * one machine), a `postgres://` URL (shared by any number of machines), or a storage
   * (`journalStorage(path, …)`, `postgresStorage(url, …)`). @default {in memory}
   */
  readonly storage?: string | URL | SweepStorage;
  /** The study's name in a PostgreSQL database given as a URL. @default {"default"} */
  readonly study?: string;
  /** The metric reported each epoch (pruning reads it). @default {"validLoss"} */
  readonly monitor?: string;
  /** Whether the objective is minimized or maximized. @default {"minimize" for loss/error names, else "maximize"} */
  readonly direction?: Direction;
  /** This machine's part of the trials, as `{ index, count }` or `"k/n"` (0-based k). @default {undefined} */
  readonly shard?: Shard | string;
  /** Called after each trial this call runs ends, with its record. @default {undefined} */
  readonly onTrial?: (record: TrialRecord) => void;
  /**
   * Whether trials that failed before this call started run again (finished and pruned
   * ones are kept). @default {true}
   */
  readonly rerunFailed?: boolean;
  /**
   * If the first this-many trials this call runs all fail with the same error, the sweep
   * stops and throws it (0: never). @default {3}
   */
  readonly abortAfterFailures?: number;
  /**
   * How a module trial is isolated: a Deno Worker, or a child process. A trial that
   * throws or crashes its Worker is marked failed either way; one that runs out of memory
   * ends the whole Deno process when it runs in a Worker (V8 aborts on any isolate's
   * out-of-memory), so use "process" when trials may. A child process ends when the
   * sweep's process does (even by kill -9). @default {"worker"}
   */
  readonly isolation?: "worker" | "process";
  /**
   * Extra `deno run` flags for child processes (permissions granted to this process are
   * passed on; add `--import-map=…` or `--config=…` if the trial needs them).
   * @default {[]}
   */
  readonly processFlags?: readonly string[];
}

const KNOWN = [
  "space",
  "trial",
  "sampler",
  "concurrency",
  "pruner",
  "storage",
  "study",
  "monitor",
  "direction",
  "shard",
  "onTrial",
  "rerunFailed",
  "abortAfterFailures",
  "isolation",
  "processFlags",
] as const;

/** What {@linkcode sweep} returns. */
export interface SweepResult {
  /** Every ended trial of the sweep (of this shard), best first, failed ones last. */
  readonly trials: readonly TrialRecord[];
  /** The best finished or pruned trial. */
  readonly best: TrialRecord | undefined;
  /** The direction used. */
  readonly direction: Direction;
  /** Trials that had ended before this call and were not run again. */
  readonly resumed: number;
  /** Trials this call ran. */
  readonly ran: number;
}

/**
 * Parses a shard given as `"k/n"` (0-based k, as a Kubernetes indexed Job's
 * `JOB_COMPLETION_INDEX`).
 *
 * @param text The shard.
 * @returns `{ index, count }`.
 * @throws {RangeError} If it is not `k/n` with 0 <= k < n.
 *
 * @example
 * ```ts
 * import { parseShard } from "@fitloop/fitloop/sweep";
 * import { assertEquals } from "@std/assert";
 * assertEquals(parseShard("1/4"), { index: 1, count: 4 });
 * ```
 */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!(count >= 1 && index >= 0 && index < count)) {
    throw new RangeError(
      `Cannot use shard as it must be 'k/n' with 0 <= k < n: current value is '${text}'`,
    );
  }
  return { index, count };
}

/** Orders trials best first, failed ones last (by index). */
function better(direction: Direction): (a: TrialRecord, b: TrialRecord) => number {
  const rank = (r: TrialRecord) => (r.status === "failed" || r.objective === null ? 1 : 0);
  return (a, b) => {
    const byStatus = rank(a) - rank(b);
    if (byStatus !== 0) return byStatus;
    if (rank(a) === 1) return a.index - b.index;
    const d = (a.objective ?? 0) - (b.objective ?? 0);
    return (direction === "minimize" ? d : -d) || a.index - b.index;
  };
}

function storageOf(spec: SweepOptions<SearchSpace>["storage"], study: string): SweepStorage {
  if (spec === undefined) return memoryStorage();
  if (typeof spec === "object" && !(spec instanceof URL)) {
    if (typeof (spec as SweepStorage).claim !== "function") {
      throw new TypeError(
        `Cannot sweep as 'storage' must be a path, a postgres:// URL or a storage: current value is ${
          JSON.stringify(spec)
        }`,
      );
    }
    return spec;
  }
  const text = String(spec);
  if (/^postgres(ql)?:\/\//.test(text)) return postgresStorage(text, { study });
  return journalStorage(spec);
}

function workerInfo(): WorkerInfo {
  let host = "localhost";
  try {
    host = Deno.hostname();
  } catch {
    // no --allow-sys: liveness then rests on heartbeats alone
  }
  const tag = crypto.randomUUID().slice(0, 8);
  return { id: `${host}:${Deno.pid}:${tag}`, host, pid: Deno.pid };
}

const sameJson = (a: unknown, b: unknown) =>
  trialKey(a as Record<string, unknown>) === trialKey(b as Record<string, unknown>);

/**
 * Runs a sweep: claims trials from its storage one after another (up to `concurrency` at
 * once, in Workers or child processes when `trial` is a module), prunes through the
 * trials' callbacks against every trial's reports, records every trial as it ends and
 * returns them best first. Trials already finished or pruned in the storage are kept;
 * failed ones run again (see `rerunFailed`).
 *
 * @param options Space, trial, sampler and the rest.
 * @returns The trials, best first, and the best one.
 * @throws {TypeError} For an unknown option, a wrong storage, or a trial module without the expected export.
 * @throws {RangeError} If `concurrency` or `abortAfterFailures` is out of range, the shard is
 * invalid, or the storage holds another study.
 * @throws {Error} If the first `abortAfterFailures` trials all failed with the same error.
 *
 * @example A grid of two learning rates, in-process, with a synthetic objective
 * ```ts
 * import { choice, grid, sweep } from "@fitloop/fitloop/sweep";
 * import { assertEquals } from "@std/assert";
 * const result = await sweep({
 *   space: { lr: choice([0.1, 0.01]) },
 *   sampler: grid(),
 *   trial: ({ lr }) => Math.abs(Math.log10(lr) + 2),
 * });
 * assertEquals(result.best?.params, { lr: 0.01 });
 * ```
 */
export async function sweep<S extends SearchSpace>(options: SweepOptions<S>): Promise<SweepResult> {
  checkKeys("sweep", options, KNOWN, { strategy: "sampler", journal: "storage" });
  const concurrency = options.concurrency ?? 1;
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) {
    throw new RangeError(
      `Cannot sweep as 'concurrency' must be a positive integer: current value is ${concurrency}`,
    );
  }
  const abortAfter = options.abortAfterFailures ?? 3;
  if (!(Number.isInteger(abortAfter) && abortAfter >= 0)) {
    throw new RangeError(
      `Cannot sweep as 'abortAfterFailures' must be a non-negative integer: current value is ${abortAfter}`,
    );
  }
  const sampler = options.sampler;
  if (!sampler || typeof sampler.sample !== "function") {
    throw new TypeError(
      `Cannot sweep as 'sampler' must be grid(), random({ n }) or tpe({ n }): current value is ${
        String(sampler)
      }`,
    );
  }
  const monitor = options.monitor ?? "validLoss";
  const direction: Direction = options.direction ??
    (/loss|error/i.test(monitor) ? "minimize" : "maximize");
  if (direction !== "minimize" && direction !== "maximize") {
    throw new RangeError(
      `Cannot sweep as 'direction' must be "minimize" or "maximize": current value is ${
        JSON.stringify(direction)
      }`,
    );
  }
  const shard = typeof options.shard === "string" ? parseShard(options.shard) : options.shard;
  if (shard) parseShard(`${shard.index}/${shard.count}`);
  const trial = options.trial;
  if (typeof trial !== "function" && !(trial && typeof trial === "object" && "module" in trial)) {
    throw new TypeError(
      `Cannot sweep as 'trial' must be a function or { module }: current value is ${String(trial)}`,
    );
  }
  const space = options.space;
  const size = sampler.size(space);
  const inShard = (i: number) => i < size && (!shard || i % shard.count === shard.index);

  const storage = storageOf(options.storage, options.study ?? "default");
  const worker = workerInfo();
  const running = new Map<number, TrialRef>();
  let beating: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    if (running.size === 0) return;
    beating = beating.then(() => storage.heartbeat([...running.values()])).catch((e) =>
      console.warn(`fitloop: sweep heartbeat to ${storage.location} failed: ${e}`)
    );
  }, storage.heartbeatSeconds * 1000);
  const mine: TrialRecord[] = [];
  let abort: Error | undefined;
  try {
    const since = await storage.open(
      { monitor, direction, sampler: sampler.name },
      worker,
    );
    const before = (await storage.trials()).filter((r) => inShard(r.index));
    if (sampler.planned) {
      for (const r of before) {
        const planned = sampler.sample(space, r.index, { history: [], direction });
        if (!sameJson(planned, r.params)) {
          throw new RangeError(
            `Cannot sweep on ${storage.location} as its trial ${r.index} has parameters ${
              trialKey(r.params)
            } where this sweep's sampler gives ${trialKey(planned)}: use a new journal or study`,
          );
        }
      }
    }
    const pollMs = Math.min(1000, Math.max(100, storage.heartbeatSeconds * 250));

    const runOne = async (ref: TrialRef, params: Readonly<Record<string, unknown>>) => {
      const started = performance.now();
      const epochs: Record<string, number>[] = [];
      let prunedAt = -1;
      running.set(ref.index, ref);
      const channel: TrialChannel = {
        trialId: ref.index,
        async epochEnd(epoch, metrics, value) {
          epochs[epoch] = { ...metrics };
          const reports = await storage.report(ref, epoch, metrics, value);
          if (
            prunedAt < 0 && options.pruner &&
            shouldPrune(options.pruner, reports, ref.index, epoch, direction)
          ) {
            prunedAt = epoch;
          }
          return reports;
        },
      };
      const setup: TrialSetup = { params, channel, monitor, direction, pruner: options.pruner };
      const outcome: Outcome = typeof trial === "function"
        ? await runInProcess(trial as TrialFn, setup)
        : options.isolation === "process"
        ? await runInChild(trial as ModuleRef, setup, options.processFlags ?? [])
        : await runInWorker(trial as ModuleRef, setup);
      let status: TrialStatus = outcome.status === "failed"
        ? "failed"
        : prunedAt >= 0
        ? "pruned"
        : "finished";
      let error = outcome.error;
      let objective: number | null = status === "finished" ? outcome.objective ?? null : null;
      if (status === "pruned") {
        objective = epochs[prunedAt]?.[monitor] ?? NaN;
        if (!Number.isFinite(objective)) {
          status = "failed";
          error = `RangeError: the trial's '${monitor}' was ${objective} at epoch ${prunedAt}`;
          objective = null;
        }
      }
      const record: TrialRecord = {
        key: trialKey(params),
        index: ref.index,
        params,
        status,
        objective,
        epochs: epochs.map((e) =>
          Object.fromEntries(Object.entries(e).map(([k, v]) => [k, Number.isFinite(v) ? v : null]))
        ),
        seconds: (performance.now() - started) / 1000,
        ...(error ? { error } : {}),
        attempt: ref.attempt,
        worker: worker.id,
      };
      const kept = await storage.finish(ref, record);
      running.delete(ref.index);
      if (!kept) return;
      mine.push(record);
      options.onTrial?.(record);
      if (outcome.setup && error) {
        abort ??= new TypeError(error.replace(/^TypeError: /, ""));
      } else if (abortAfter > 0 && mine.length === abortAfter) {
        const errors = new Set(mine.map((r) => (r.status === "failed" ? r.error : undefined)));
        const only = [...errors][0];
        if (errors.size === 1 && only !== undefined) {
          abort ??= new Error(
            `Cannot go on with the sweep as its first ${abortAfter} trials all failed with: ${only}`,
          );
        }
      }
    };

    const lane = async () => {
      while (!abort) {
        const claim = await storage.claim({
          worker,
          size,
          ...(shard ? { shard } : {}),
          ...(options.rerunFailed === false ? {} : { rerunFailedBefore: since }),
          token: crypto.randomUUID(),
          propose: (index, history) => sampler.sample(space, index, { history, direction }),
        });
        if (claim.kind === "done") return;
        if (claim.kind === "wait") {
          await new Promise((r) => setTimeout(r, pollMs));
          continue;
        }
        await runOne(claim.trial, claim.trial.params);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, lane));
    if (abort) throw abort;
    const ranIndices = new Set(mine.map((r) => r.index));
    const trials = (await storage.trials()).filter((r) => inShard(r.index)).sort(
      better(direction),
    );
    const best = trials.find((r) => r.status !== "failed" && r.objective !== null);
    const resumed = before.filter((r) => !ranIndices.has(r.index)).length;
    return { trials, best, direction, resumed, ran: mine.length };
  } finally {
    clearInterval(timer);
    await beating;
    await storage.close();
  }
}
