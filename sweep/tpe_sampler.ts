/**
 * The Tree-structured Parzen Estimator sampler (Bergstra et al. 2011, as Optuna's
 * `TPESampler` with its defaults): random search for the first trials, then, for each
 * trial, a split of the ended trials into the best few ("good") and the rest, a Parzen
 * estimator of each parameter in each group, and the candidate (drawn from the good
 * estimator) that maximises the ratio of good to bad density.
 *
 * @module
 */
import { _mixSeed, _mulberry32 } from "../core/_rng.ts";
import {
  ageWeights,
  categoricalProbabilities,
  logDensity,
  numericMixture,
  sampleIndex,
  sampleNumeric,
} from "./_parzen.ts";
import { isDimension, random, type Sampler, type SearchSpace } from "./search_space.ts";
import { trialKey } from "./journal.ts";
import type { Direction, TrialRecord } from "./types.ts";

/** Options of {@linkcode tpe}. */
export interface TpeOptions {
  /** Number of trials. */
  readonly n: number;
  /** Seed: the same seed and the same ended trials give the same parameters. @default {0} */
  readonly seed?: number;
  /** Trials sampled at random (as `random({ n, seed })`) before TPE takes over. @default {10} */
  readonly startupTrials?: number;
  /** Candidates drawn from the good estimator per parameter. @default {24} */
  readonly candidates?: number;
  /** Weight of the prior in each estimator. @default {1} */
  readonly priorWeight?: number;
}

/** The size of the good group among `n` ended trials: 10 %, at most 25 (Optuna's default). */
function goodCount(n: number): number {
  return Math.min(Math.ceil(0.1 * n), 25);
}

/**
 * Ranks ended trials best first: finished ones by objective, then pruned ones by the
 * epochs they reached (more is better) and their last reported value; failed ones are
 * left out.
 */
function ranked(history: readonly TrialRecord[], direction: Direction): TrialRecord[] {
  const sign = direction === "minimize" ? 1 : -1;
  const usable = history.filter((r) =>
    r.status !== "failed" && r.objective !== null && Number.isFinite(r.objective)
  );
  return usable.sort((a, b) => {
    const fa = a.status === "finished" ? 0 : 1;
    const fb = b.status === "finished" ? 0 : 1;
    if (fa !== fb) return fa - fb;
    if (fa === 1 && a.epochs.length !== b.epochs.length) return b.epochs.length - a.epochs.length;
    return sign * (a.objective! - b.objective!) || a.index - b.index;
  });
}

/**
 * The TPE sampler, for `sweep({ sampler: tpe({ n }) })`. Trial `i`'s parameters depend
 * only on the seed, `i` and the trials ended when it starts (with `concurrency` > 1 it
 * does not wait for the running ones). Pruned trials count with their last reported value,
 * ranked after finished ones. `logUniform` dimensions are estimated on a log scale,
 * `intUniform` ones on the integers, `choice` ones as categories.
 *
 * @param options Number of trials, seed, random start-up trials and candidates.
 * @returns The sampler.
 * @throws {RangeError} If `n`, `startupTrials` or `candidates` is out of range.
 *
 * @example TPE homes in on the minimum of a parabola
 * ```ts
 * import { sweep, tpe, uniform } from "@fitloop/fitloop/sweep";
 * import { assertLess } from "@std/assert";
 * const result = await sweep({
 *   space: { x: uniform(-10, 10) },
 *   sampler: tpe({ n: 40, seed: 1 }),
 *   trial: ({ x }) => (x - 3) ** 2,
 * });
 * assertLess(result.best!.objective!, 0.5);
 * ```
 */
export function tpe(options: TpeOptions): Sampler {
  const { n, seed = 0, startupTrials = 10, candidates = 24, priorWeight = 1 } = options;
  for (const [name, v, min] of [["n", n, 1], ["startupTrials", startupTrials, 0], [
    "candidates",
    candidates,
    1,
  ]] as const) {
    if (!(Number.isInteger(v) && v >= min)) {
      throw new RangeError(
        `Cannot create tpe as '${name}' must be an integer >= ${min}: current value is ${v}`,
      );
    }
  }
  if (!(priorWeight > 0)) {
    throw new RangeError(
      `Cannot create tpe as 'priorWeight' must be > 0: current value is ${priorWeight}`,
    );
  }
  const startup = random({ n, seed });
  return {
    name: `tpe(n=${n}, seed=${seed})`,
    planned: false,
    size: () => n,
    sample(space: SearchSpace, index, context): Record<string, unknown> {
      const order = ranked(context.history, context.direction);
      if (order.length < Math.max(1, startupTrials)) return startup.sample(space, index, context);
      const split = goodCount(order.length);
      const byAge = (rs: TrialRecord[]) => rs.slice().sort((a, b) => a.index - b.index);
      const good = byAge(order.slice(0, split));
      const bad = byAge(order.slice(split));
      const rand = _mulberry32(_mixSeed(seed ^ 0x5eed7be, index));
      const row: Record<string, unknown> = {};
      for (const name of Object.keys(space)) {
        const d = space[name];
        if (!isDimension(d)) {
          row[name] = d;
          continue;
        }
        if (d.kind === "choice") {
          const keys = d.values.map((v) => trialKey({ v }));
          const indexOf = (rs: TrialRecord[]) =>
            rs.map((r) => keys.indexOf(trialKey({ v: r.params[name] }))).filter((i) => i >= 0);
          const g = indexOf(good);
          const b = indexOf(bad);
          const pg = categoricalProbabilities(g, ageWeights(g.length), keys.length, priorWeight);
          const pb = categoricalProbabilities(b, ageWeights(b.length), keys.length, priorWeight);
          let best = -1;
          let bestScore = -Infinity;
          for (let c = 0; c < candidates; c++) {
            const i = sampleIndex(pg, rand);
            const score = Math.log(pg[i]!) - Math.log(pb[i]!);
            if (score > bestScore) [best, bestScore] = [i, score];
          }
          row[name] = d.values[best];
          continue;
        }
        const log = d.kind === "logUniform";
        const step = d.kind === "intUniform" ? 1 : 0;
        const to = (x: number) => (log ? Math.log(x) : x);
        const lo = to(d.lo);
        const hi = to(d.hi);
        const observed = (rs: TrialRecord[]) =>
          rs.map((r) => r.params[name]).filter((v): v is number =>
            typeof v === "number" && v >= d.lo && v <= d.hi
          ).map(to);
        const g = observed(good);
        const b = observed(bad);
        const mg = numericMixture(g, ageWeights(g.length), lo, hi, step, priorWeight);
        const mb = numericMixture(b, ageWeights(b.length), lo, hi, step, priorWeight);
        let best = NaN;
        let bestScore = -Infinity;
        for (let c = 0; c < candidates; c++) {
          const x = sampleNumeric(mg, rand);
          const score = logDensity(mg, x) - logDensity(mb, x);
          if (score > bestScore) [best, bestScore] = [x, score];
        }
        const value = log ? Math.exp(best) : best;
        row[name] = Math.min(d.hi, Math.max(d.lo, step ? Math.round(value) : value));
      }
      return row;
    },
  };
}
