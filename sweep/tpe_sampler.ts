/**
 * The Tree-structured Parzen Estimator sampler (Bergstra et al. 2011, as Optuna's
 * `TPESampler` with its defaults): random search for the first trials, then, for each
 * trial, a split of the ended trials into the best few ("good") and the rest, a Parzen
 * estimator of each parameter in each group, and the candidate (drawn from the good
 * estimator) that maximises the ratio of good to bad density.
 *
 * @module
 */
import { mixSeed, mulberry32 } from "../core/_rng.ts";
import {
  ageWeights,
  categoricalProbabilities,
  type JointDimension,
  jointMixture,
  logDensity,
  logJointDensity,
  numericMixture,
  sampleIndex,
  sampleJoint,
  sampleNumeric,
} from "./_parzen.ts";
import {
  type Dimension,
  isDimension,
  random,
  type Sampler,
  type SearchSpace,
} from "./search_space.ts";
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
  /**
   * One joint estimator over all parameters (Optuna's `multivariate=True`) instead of one
   * per parameter: it sees how parameters interact. On by default (Optuna's default is
   * off): on Branin, whose variables are coupled, independent TPE with 50 trials did not
   * beat random search with 100 over 20 seeds, multivariate TPE did (bench/RESULTS.md).
   * `false` gives Optuna's classic per-parameter TPE. @default {true}
   */
  readonly multivariate?: boolean;
}

/** A dimension in the estimators' coordinates: log for logUniform, indices for choice. */
interface Coordinate {
  readonly name: string;
  readonly dim: JointDimension;
  /** A trial's value in these coordinates, or undefined if it is not in the dimension. */
  readonly to: (value: unknown) => number | undefined;
  /** Back to a parameter value. */
  readonly from: (x: number) => unknown;
}

function coordinate(name: string, d: Dimension): Coordinate {
  if (d.kind === "choice") {
    const keys = d.values.map((v) => trialKey({ v }));
    return {
      name,
      dim: { kind: "categorical", n: keys.length },
      to: (v) => {
        const i = keys.indexOf(trialKey({ v }));
        return i < 0 ? undefined : i;
      },
      from: (x) => d.values[x],
    };
  }
  const log = d.kind === "logUniform";
  const step = d.kind === "intUniform" ? 1 : 0;
  return {
    name,
    dim: {
      kind: "numeric",
      lo: log ? Math.log(d.lo) : d.lo,
      hi: log ? Math.log(d.hi) : d.hi,
      step,
    },
    to: (v) =>
      typeof v === "number" && v >= d.lo && v <= d.hi ? (log ? Math.log(v) : v) : undefined,
    from: (x) => {
      const v = log ? Math.exp(x) : x;
      return Math.min(d.hi, Math.max(d.lo, step ? Math.round(v) : v));
    },
  };
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
  const {
    n,
    seed = 0,
    startupTrials = 10,
    candidates = 24,
    priorWeight = 1,
    multivariate = true,
  } = options;
  for (
    const [name, v, min] of [["n", n, 1], ["startupTrials", startupTrials, 0], [
      "candidates",
      candidates,
      1,
    ]] as const
  ) {
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
    name: `tpe(n=${n}, seed=${seed}${multivariate ? ", multivariate" : ""})`,
    planned: false,
    size: () => n,
    sample(space: SearchSpace, index, context): Record<string, unknown> {
      const order = ranked(context.history, context.direction);
      if (order.length < Math.max(1, startupTrials)) return startup.sample(space, index, context);
      const split = goodCount(order.length);
      const byAge = (rs: TrialRecord[]) => rs.slice().sort((a, b) => a.index - b.index);
      const good = byAge(order.slice(0, split));
      const bad = byAge(order.slice(split));
      const rand = mulberry32(mixSeed(seed ^ 0x5eed7be, index));
      const row: Record<string, unknown> = {};
      const coords: Coordinate[] = [];
      for (const name of Object.keys(space)) {
        const d = space[name];
        if (isDimension(d)) coords.push(coordinate(name, d));
        else row[name] = d;
      }
      const observe = (rs: TrialRecord[], c: Coordinate) =>
        rs.map((r) => c.to(r.params[c.name])).filter((v): v is number => v !== undefined);
      if (!multivariate) {
        for (const c of coords) {
          const g = observe(good, c);
          const b = observe(bad, c);
          let best = NaN;
          let bestScore = -Infinity;
          if (c.dim.kind === "categorical") {
            const pg = categoricalProbabilities(g, ageWeights(g.length), c.dim.n, priorWeight);
            const pb = categoricalProbabilities(b, ageWeights(b.length), c.dim.n, priorWeight);
            for (let k = 0; k < candidates; k++) {
              const i = sampleIndex(pg, rand);
              const score = Math.log(pg[i]!) - Math.log(pb[i]!);
              if (score > bestScore) [best, bestScore] = [i, score];
            }
          } else {
            const { lo, hi, step } = c.dim;
            const mg = numericMixture(g, ageWeights(g.length), lo, hi, step, priorWeight);
            const mb = numericMixture(b, ageWeights(b.length), lo, hi, step, priorWeight);
            for (let k = 0; k < candidates; k++) {
              const x = sampleNumeric(mg, rand);
              const score = logDensity(mg, x) - logDensity(mb, x);
              if (score > bestScore) [best, bestScore] = [x, score];
            }
          }
          row[c.name] = c.from(best);
        }
        return row;
      }
      // multivariate: one joint estimator over every dimension, from the trials that have them all
      const rowsOf = (rs: TrialRecord[]) =>
        rs.map((r) => coords.map((c) => c.to(r.params[c.name])))
          .filter((xs): xs is number[] => xs.every((x) => x !== undefined));
      const g = rowsOf(good);
      const b = rowsOf(bad);
      const dims = coords.map((c) => c.dim);
      const mg = jointMixture(g, ageWeights(g.length), dims, priorWeight);
      const mb = jointMixture(b, ageWeights(b.length), dims, priorWeight);
      let best: number[] = [];
      let bestScore = -Infinity;
      for (let k = 0; k < candidates; k++) {
        const x = sampleJoint(mg, rand);
        const score = logJointDensity(mg, x) - logJointDensity(mb, x);
        if (score > bestScore) [best, bestScore] = [x, score];
      }
      coords.forEach((c, j) => (row[c.name] = c.from(best[j]!)));
      return row;
    },
  };
}
