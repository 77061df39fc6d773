/**
 * Hyper-parameter sweeps (`@fitloop/fitloop/sweep`): search spaces, samplers (grid,
 * random, TPE), pruners (median, ASHA) and the callback that reports and prunes inside
 * each trial, the executor `sweep`, its storages (in memory, a JSONL journal shared by
 * the processes of one machine, PostgreSQL shared by any number of machines), reading
 * journals, and the reports (table, CSV, scatter and parallel-coordinates SVG).
 *
 * Layering: this folder may import core/, callbacks/, optim/, schedules/ and backend/;
 * nothing below imports it, and the root module does not re-export it.
 *
 * @example A TPE sweep in a journal, resumed by running it again
 * ```ts
 * import { choice, logUniform, sweep, sweepTable, tpe } from "@fitloop/fitloop/sweep";
 * import { assertEquals } from "@std/assert";
 * const storage = await Deno.makeTempFile({ suffix: ".jsonl" });
 * const result = await sweep({
 *   space: { lr: logUniform(1e-4, 1e-1), width: choice([32, 64]) },
 *   sampler: tpe({ n: 12, seed: 0 }),
 *   trial: ({ lr, width }) => Math.abs(Math.log10(lr) + 2.5) + width / 1000,
 *   storage,
 * });
 * assertEquals(sweepTable(result).text.split("\n").length, 13);
 * await Deno.remove(storage);
 * ```
 *
 * @module
 */
export { type AshaPruner, ashaPruner, type AshaPrunerOptions } from "./asha_pruner.ts";
export { type MedianPruner, medianPruner, type MedianPrunerOptions } from "./median_pruner.ts";
export {
  type Pruner,
  shouldPrune,
  trialCallback,
  type TrialCallbackOptions,
  type TrialChannel,
} from "./pruner_callback.ts";
export {
  type Choice,
  choice,
  type Dimension,
  grid,
  type IntUniform,
  intUniform,
  isDimension,
  type LogUniform,
  logUniform,
  type ParamsOf,
  type PlannedSampler,
  random,
  type RandomOptions,
  type SampleContext,
  type Sampler,
  type SearchSpace,
  type Uniform,
  uniform,
} from "./search_space.ts";
export { tpe, type TpeOptions } from "./tpe_sampler.ts";
export {
  parseShard,
  sweep,
  type SweepOptions,
  type SweepResult,
  type TrialContext,
  type TrialFunction,
  type TrialModule,
  type TrialResult,
} from "./sweep.ts";
export type * from "./storage.ts";
export { journalStorage, type JournalStorageOptions } from "./journal_storage.ts";
export { postgresStorage, type PostgresStorageOptions } from "./postgres_storage.ts";
export { appendJournal, mergeJournals, readJournal, trialKey } from "./journal.ts";
export type * from "./types.ts";
export {
  bestTrialJson,
  plotParallelCoordinates,
  plotSweep,
  sweepTable,
  sweepToCsv,
  type SweepTrials,
  type TextTable,
} from "./sweep_report.ts";
