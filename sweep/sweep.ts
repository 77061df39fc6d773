/**
 * Scripted hyper-parameter sweeps: a sweep is a pure plan of trials (a search space and a
 * strategy) plus an executor that runs them, up to `concurrency` at a time, each in its
 * own Deno Worker (its own tfjs) when the trial is a module, so that a trial that crashes
 * is marked failed and the sweep goes on. Pruning is a callback in every trial; finished,
 * pruned and failed trials go to an append-only journal that a re-run resumes from; a
 * `shard` splits the plan across machines.
 *
 * @module
 */
import type { Callback } from "../core/callback.ts";
import {
  type Direction,
  type Pruner,
  shouldPrune,
  trialCallback,
  type TrialChannel,
  type TrialReports,
} from "./pruner_callback.ts";
import type { FitResult } from "../core/fit.ts";
import {
  appendJournal,
  readJournal,
  trialKey,
  type TrialRecord,
  type TrialStatus,
} from "./journal.ts";
import type { ParamsOf, SearchSpace, Strategy } from "./search_space.ts";

/** What a trial gets besides its parameters. */
export interface TrialContext {
  /** The trial's position in the plan. */
  readonly trialId: number;
  /** Callbacks to pass to the trial's `fit`: the sweep's reporter and pruner. */
  readonly callbacks: readonly Callback[];
}

/** What a trial returns: the objective, or a fit result and the metric to read from it. */
export type TrialResult = number | { readonly result: FitResult; readonly metric: string };

/** A trial run in the sweep's own process. */
export type TrialFunction<P> = (params: P, ctx: TrialContext) => TrialResult | Promise<TrialResult>;

/** A trial run in a Deno Worker: a module and the name of the function it exports. */
export interface TrialModule {
  /** The module's URL (for example `new URL("../trial.ts", import.meta.url)`). */
  readonly module: string | URL;
  /** The exported trial function. @default {"trial"} */
  readonly export?: string;
}

/** Which of `count` machines runs this part of the plan: trial `i` goes to shard `i % count`. */
export interface Shard {
  /** This shard, 0-based. */
  readonly index: number;
  /** Number of shards. */
  readonly count: number;
}

/** Options of {@linkcode sweep}. */
export interface SweepOptions<S extends SearchSpace> {
  /** The search space. */
  readonly space: S;
  /** The trial: a function (in-process) or a module (each trial in its own Worker). */
  readonly trial: TrialFunction<ParamsOf<S>> | TrialModule;
  /** How to plan trials (`grid()` or `random({ n, seed })`). */
  readonly strategy: Strategy;
  /** Trials running at once. @default {1} */
  readonly concurrency?: number;
  /** Stops trials early. @default {undefined} */
  readonly pruner?: Pruner;
  /** JSONL journal to append to and resume from. @default {undefined} */
  readonly journal?: string | URL;
  /** The metric reported each epoch (pruning reads it). @default {"validLoss"} */
  readonly monitor?: string;
  /** Whether the objective is minimized or maximized. @default {"minimize" for loss/error names, else "maximize"} */
  readonly direction?: Direction;
  /** This machine's part of the plan, as `{ index, count }` or `"k/n"` (0-based k). */
  readonly shard?: Shard | string;
  /** Called after each trial ends, with its record. */
  readonly onTrial?: (record: TrialRecord) => void;
  /**
   * How a module trial is isolated: a Deno Worker, or a child process. A trial that
   * throws or crashes its Worker is marked failed either way; one that runs out of memory
   * ends the whole Deno process when it runs in a Worker (V8 aborts on any isolate's
   * out-of-memory), so use "process" when trials may. @default {"worker"}
   */
  readonly isolation?: "worker" | "process";
  /**
   * Extra `deno run` flags for child processes (permissions granted to this process are
   * passed on; add `--import-map=…` or `--config=…` if the trial needs them).
   * @default {[]}
   */
  readonly processFlags?: readonly string[];
}

/** What {@linkcode sweep} returns. */
export interface SweepResult {
  /** Every trial of this shard's plan, best first (failed ones last). */
  readonly trials: readonly TrialRecord[];
  /** The best finished or pruned trial. */
  readonly best: TrialRecord | undefined;
  /** The direction used. */
  readonly direction: Direction;
  /** Trials found in the journal and not run again. */
  readonly resumed: number;
  /** Trials run now. */
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

/** The objective of a trial's result. */
export function _objective(out: TrialResult, fallback: string): number {
  if (typeof out === "number") return out;
  if (!out || typeof out !== "object" || !("result" in out)) {
    throw new TypeError(
      `A trial must return a number or { result, metric }: it returned ${String(out)}`,
    );
  }
  const state = out.result.state;
  const i = state.metricNames.indexOf(out.metric ?? fallback);
  if (i < 0) {
    throw new RangeError(
      `A trial returned metric '${out.metric}' which the fit does not have: known metrics are ${
        state.metricNames.join(", ")
      }`,
    );
  }
  return state.lastMetrics[i] ?? NaN;
}

function _better(direction: Direction): (a: TrialRecord, b: TrialRecord) => number {
  const rank = (r: TrialRecord) => (r.status === "failed" || r.objective === null ? 1 : 0);
  return (a, b) => {
    const byStatus = rank(a) - rank(b);
    if (byStatus !== 0) return byStatus;
    if (rank(a) === 1) return a.index - b.index;
    const d = (a.objective ?? 0) - (b.objective ?? 0);
    return (direction === "minimize" ? d : -d) || a.index - b.index;
  };
}

interface Outcome {
  readonly status: Exclude<TrialStatus, "pruned"> | "done";
  readonly objective?: number;
  readonly error?: string;
}

/**
 * Runs a sweep: plans the trials, skips those already in the journal, runs the rest up
 * to `concurrency` at once (in Workers when `trial` is a module), prunes through the
 * trials' callbacks, journals every trial as it ends and returns them best first.
 *
 * @param options Space, trial, strategy and the rest.
 * @returns The trials, best first, and the best one.
 * @throws {RangeError} If `concurrency` is not a positive integer or the shard is invalid.
 *
 * @example A grid of two learning rates, in-process, with a synthetic objective
 * ```ts
 * import { choice, grid, sweep } from "@fitloop/fitloop/sweep";
 * import { assertEquals } from "@std/assert";
 * const result = await sweep({
 *   space: { lr: choice([0.1, 0.01]) },
 *   strategy: grid(),
 *   trial: ({ lr }) => Math.abs(Math.log10(lr) + 2),
 * });
 * assertEquals(result.best?.params, { lr: 0.01 });
 * ```
 */
export async function sweep<S extends SearchSpace>(options: SweepOptions<S>): Promise<SweepResult> {
  const concurrency = options.concurrency ?? 1;
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) {
    throw new RangeError(
      `Cannot sweep as 'concurrency' must be a positive integer: current value is ${concurrency}`,
    );
  }
  const monitor = options.monitor ?? "validLoss";
  const direction: Direction = options.direction ??
    (/loss|error/i.test(monitor) ? "minimize" : "maximize");
  const shard = typeof options.shard === "string" ? parseShard(options.shard) : options.shard;
  if (shard) parseShard(`${shard.index}/${shard.count}`);

  const plan = options.strategy.plan(options.space);
  const repeats = new Map<string, number>();
  const planned = plan.map((params, index) => {
    const base = trialKey(params as Record<string, unknown>);
    const n = repeats.get(base) ?? 0;
    repeats.set(base, n + 1);
    return {
      index,
      params: params as Record<string, unknown>,
      key: trialKey(params as Record<string, unknown>, n),
    };
  }).filter((t) => !shard || t.index % shard.count === shard.index);

  const journaled = new Map<string, TrialRecord>();
  if (options.journal !== undefined) {
    for (const r of await readJournal(options.journal)) journaled.set(r.key, r);
  }
  const reports = new Map<number, number[]>();
  const records: TrialRecord[] = [];
  for (const t of planned) {
    const r = journaled.get(t.key);
    if (!r) continue;
    records.push(r);
    const values = r.epochs.map((e) => e[monitor] ?? NaN);
    if (values.length) reports.set(t.index, values);
  }
  const todo = planned.filter((t) => !journaled.has(t.key));
  const resumed = records.length;

  const runOne = async (t: (typeof todo)[number]): Promise<void> => {
    const started = performance.now();
    const epochs: Record<string, number>[] = [];
    let prunedAt = -1;
    const channel: TrialChannel = {
      trialId: t.index,
      epochEnd(epoch, metrics, value): Promise<TrialReports> {
        epochs[epoch] = { ...metrics };
        const mine = reports.get(t.index) ?? [];
        mine[epoch] = value;
        reports.set(t.index, mine);
        const snapshot = new Map([...reports].map(([k, v]) => [k, v.slice()]));
        if (
          prunedAt < 0 && options.pruner &&
          shouldPrune(options.pruner, snapshot, t.index, epoch, direction)
        ) {
          prunedAt = epoch;
        }
        return Promise.resolve(snapshot);
      },
    };
    const setup: _TrialSetup = {
      params: t.params,
      channel,
      monitor,
      direction,
      pruner: options.pruner,
    };
    const outcome = typeof options.trial === "function"
      ? await _inProcess(options.trial as TrialFunction<unknown>, setup)
      : options.isolation === "process"
      ? await _inChild(options.trial, setup, options.processFlags ?? [])
      : await _inWorker(options.trial, setup);
    const last = epochs.length ? epochs[epochs.length - 1]?.[monitor] : undefined;
    const status: TrialStatus = outcome.status === "failed"
      ? "failed"
      : prunedAt >= 0
      ? "pruned"
      : "finished";
    const objective = status === "failed"
      ? null
      : status === "pruned"
      ? (last ?? outcome.objective ?? null)
      : (outcome.objective ?? null);
    const record: TrialRecord = {
      key: t.key,
      index: t.index,
      params: t.params,
      status,
      objective: objective !== null && Number.isFinite(objective) ? objective : null,
      epochs: epochs.map((e) =>
        Object.fromEntries(Object.entries(e).map(([k, v]) => [k, Number.isFinite(v) ? v : null]))
      ),
      seconds: (performance.now() - started) / 1000,
      ...(outcome.error ? { error: outcome.error } : {}),
    };
    records.push(record);
    if (options.journal !== undefined) await appendJournal(options.journal, record);
    options.onTrial?.(record);
  };

  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, todo.length) }, async () => {
    while (next < todo.length) await runOne(todo[next++]!);
  });
  await Promise.all(lanes);
  const trials = records.sort(_better(direction));
  const best = trials.find((r) => r.status !== "failed" && r.objective !== null);
  return { trials, best, direction, resumed, ran: todo.length };
}

/** What a trial runs with, whichever way it runs. */
interface _TrialSetup {
  readonly params: Readonly<Record<string, unknown>>;
  readonly channel: TrialChannel;
  readonly monitor: string;
  readonly direction: Direction;
  readonly pruner: Pruner | undefined;
}

async function _inProcess(trial: TrialFunction<unknown>, setup: _TrialSetup): Promise<Outcome> {
  const { params, channel, monitor, direction, pruner } = setup;
  const callbacks = [trialCallback({ channel, monitor, direction, ...(pruner ? { pruner } : {}) })];
  try {
    const out = await trial(params, { trialId: channel.trialId, callbacks });
    return { status: "done", objective: _objective(out, monitor) };
  } catch (e) {
    return { status: "failed", error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
}

/** The message that starts a module trial in a Worker or a child process. */
function _runMessage(trial: TrialModule, setup: _TrialSetup): Record<string, unknown> {
  const { params, channel, monitor, direction, pruner } = setup;
  return {
    type: "run",
    trialId: channel.trialId,
    module: String(trial.module),
    exportName: trial.export ?? "trial",
    params,
    monitor,
    direction,
    pruner,
  };
}

/** Prefix of the protocol's lines on a trial process's standard output. */
export const _PROCESS_PREFIX = "\u0001fitloop-sweep\u0001";

const PERMISSIONS = ["read", "write", "net", "env", "run", "sys", "ffi", "import"] as const;

/** `--allow-*` flags for the permissions this process holds without restriction. */
function _grantedFlags(): string[] {
  const flags: string[] = [];
  for (const name of PERMISSIONS) {
    try {
      if (Deno.permissions.querySync({ name } as Deno.PermissionDescriptor).state === "granted") {
        flags.push(`--allow-${name}`);
      }
    } catch {
      // a permission this Deno does not know
    }
  }
  return flags;
}

async function _inChild(
  trial: TrialModule,
  setup: _TrialSetup,
  extra: readonly string[],
): Promise<Outcome> {
  const { channel } = setup;
  const runner = new URL("./_sweep_worker.ts", import.meta.url).href;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ..._grantedFlags(), ...extra, runner],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const encoder = new TextEncoder();
  const send = (m: unknown) =>
    writer.write(encoder.encode(`${JSON.stringify(m)}\n`)).catch(() => {});
  await send(_runMessage(trial, setup));
  let outcome: Outcome | undefined;
  let stderrTail = "";
  const readErr = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) {
      stderrTail = (stderrTail + decoder.decode(chunk)).slice(-2000);
    }
  })();
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of child.stdout) {
    buffered += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (!line.startsWith(_PROCESS_PREFIX)) {
        console.log(line); // the trial's own output
        continue;
      }
      const msg = JSON.parse(line.slice(_PROCESS_PREFIX.length)) as _WorkerMessage;
      if (msg.type === "epoch") {
        const reports = await channel.epochEnd(msg.epoch, msg.metrics, msg.value);
        await send({ type: "reports", epoch: msg.epoch, reports: [...reports] });
      } else if (msg.type === "done") {
        outcome = { status: "done", objective: msg.objective };
      } else {
        outcome = { status: "failed", error: msg.error };
      }
    }
  }
  const status = await child.status;
  await readErr;
  await writer.close().catch(() => {});
  if (outcome) return outcome;
  const how = status.signal ? `signal ${status.signal}` : `code ${status.code}`;
  const lines = stderrTail.split("\n").map((l) => l.replace(/^#\s*/, "").trim()).filter((l) => l);
  const telling = lines.filter((l) => /Fatal|[Ee]rror|Uncaught|panic/.test(l));
  const last = (telling.length ? telling : lines).slice(-2).join(" | ");
  return {
    status: "failed",
    error: `the trial's process ended with ${how} before finishing${last ? `: ${last}` : ""}`,
  };
}

/** Messages between the executor and a trial's worker. */
export type _WorkerMessage =
  | { type: "epoch"; epoch: number; metrics: Record<string, number>; value: number }
  | { type: "done"; objective: number }
  | { type: "failed"; error: string };

function _inWorker(trial: TrialModule, setup: _TrialSetup): Promise<Outcome> {
  const { channel } = setup;
  return new Promise((resolve) => {
    const worker = new Worker(new URL("./_sweep_worker.ts", import.meta.url).href, {
      type: "module",
    });
    let settled = false;
    const finish = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      worker.terminate();
      resolve(outcome);
    };
    worker.onmessage = async (e: MessageEvent<_WorkerMessage>) => {
      const msg = e.data;
      if (msg.type === "epoch") {
        const reports = await channel.epochEnd(msg.epoch, msg.metrics, msg.value);
        if (!settled) worker.postMessage({ type: "reports", epoch: msg.epoch, reports });
      } else if (msg.type === "done") {
        finish({ status: "done", objective: msg.objective });
      } else if (msg.type === "failed") {
        finish({ status: "failed", error: msg.error });
      }
    };
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      finish({ status: "failed", error: `the trial's worker crashed: ${e.message}` });
    };
    worker.onmessageerror = () =>
      finish({ status: "failed", error: "the trial's worker sent an unreadable message" });
    worker.postMessage(_runMessage(trial, setup));
  });
}
