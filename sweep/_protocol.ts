// What the sweep executor and a trial's Worker or child process say to each other, and
// the objective read from what a trial returns. Shared by sweep.ts, _isolation.ts and
// _sweep_worker.ts (which must not import the executor).
import type { FitResult } from "../core/fit.ts";
import type { Pruner } from "./pruner_callback.ts";
import type { Direction, TrialReports } from "./types.ts";

/** What a trial returns: the objective, or a fit result and the metric to read from it. */
export type TrialResult = number | { readonly result: FitResult; readonly metric: string };

/** Prefix of the protocol's lines on a trial process's standard output. */
export const PROCESS_PREFIX = "\u0001fitloop-sweep\u0001";

/** The message that starts a module trial in a Worker or a child process. */
export interface RunMessage {
  readonly type: "run";
  readonly trialId: number;
  readonly module: string;
  readonly exportName: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly monitor: string;
  readonly direction: Direction;
  readonly pruner?: Pruner;
}

/** The executor's answer to an epoch report: every trial's reports (as entries). */
export interface ReportsMessage {
  readonly type: "reports";
  readonly epoch: number;
  readonly reports: readonly (readonly [number, readonly number[]])[];
}

/** The executor could not record an epoch (the trial lost its claim): the trial must stop. */
export interface ReportFailedMessage {
  readonly type: "reportFailed";
  readonly epoch: number;
  readonly error: string;
}

/** Messages from a trial's Worker or process to the executor. */
export type WorkerMessage =
  | { type: "epoch"; epoch: number; metrics: Record<string, number>; value: number }
  | { type: "done"; objective: number }
  /** `setup` marks a failure before the trial ran: the module or its export is wrong. */
  | { type: "failed"; error: string; setup?: boolean };

/** Messages from the executor to a trial's Worker or process. */
export type ExecutorMessage = RunMessage | ReportsMessage | ReportFailedMessage;

/** `reports` as entries, for a message. */
export function reportEntries(reports: TrialReports): [number, number[]][] {
  return [...reports].map(([k, v]) => [k, v.slice()]);
}

/** An error as one line: `Name: message`. */
export function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/**
 * The objective of a trial's result: a finite number, or the named metric's last value.
 * A NaN or infinite objective is an error (the trial fails).
 */
export function objectiveOf(out: TrialResult, fallback: string): number {
  let value: number;
  if (typeof out === "number") {
    value = out;
  } else {
    if (!out || typeof out !== "object" || !("result" in out)) {
      throw new TypeError(
        `Cannot score the trial as it must return a number or { result, metric }: it returned ${
          String(out)
        }`,
      );
    }
    const state = out.result.state;
    const name = out.metric ?? fallback;
    const i = state.metricNames.indexOf(name);
    if (i < 0) {
      throw new RangeError(
        `Cannot score the trial as it returned metric '${name}' which the fit does not have: known metrics are ${
          state.metricNames.join(", ")
        }`,
      );
    }
    value = state.lastMetrics[i] ?? NaN;
  }
  if (!Number.isFinite(value)) {
    throw new RangeError(
      `Cannot score the trial as its objective must be a finite number: current value is ${value}`,
    );
  }
  return value;
}

/** The names a module exports, for an error message. */
export function exportNames(mod: Record<string, unknown>): string {
  const names = Object.keys(mod);
  return names.length ? names.map((n) => `'${n}'`).join(", ") : "nothing";
}
