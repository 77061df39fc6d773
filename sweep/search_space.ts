/**
 * Search spaces and the planned samplers, as pure data and pure functions: a space is a
 * plain record of `choice`, `uniform`, `logUniform`, `intUniform` and constants; a sampler
 * gives trial `i`'s parameters (the same seed gives the same trials). `grid()` and
 * `random()` plan ahead; `tpe()` (tpe_sampler.ts) learns from the trials that have ended.
 *
 * @module
 */
import { mixSeed, mulberry32 } from "../core/_rng.ts";
import type { Direction, TrialRecord } from "./types.ts";

/** Pick one of `values`. */
export interface Choice<T> {
  /** Marks the kind. */
  readonly kind: "choice";
  /** The values. */
  readonly values: readonly T[];
}

/** A float drawn uniformly from [lo, hi). */
export interface Uniform {
  /** Marks the kind. */
  readonly kind: "uniform";
  /** Lower bound. */
  readonly lo: number;
  /** Upper bound. */
  readonly hi: number;
}

/** A float whose logarithm is uniform in [log lo, log hi). */
export interface LogUniform {
  /** Marks the kind. */
  readonly kind: "logUniform";
  /** Lower bound (> 0). */
  readonly lo: number;
  /** Upper bound. */
  readonly hi: number;
}

/** An integer drawn uniformly from lo..hi (both included). */
export interface IntUniform {
  /** Marks the kind. */
  readonly kind: "intUniform";
  /** Lowest value. */
  readonly lo: number;
  /** Highest value. */
  readonly hi: number;
}

/** A dimension of a search space. */
export type Dimension = Choice<unknown> | Uniform | LogUniform | IntUniform;

/** A search space: dimensions and constants by parameter name. */
export type SearchSpace = Readonly<Record<string, unknown>>;

/** The parameters of one trial of a space, typed from it. */
export type ParamsOf<S extends SearchSpace> = {
  readonly [K in keyof S]: S[K] extends Choice<infer T> ? T
    : S[K] extends Uniform | LogUniform | IntUniform ? number
    : S[K];
};

function _finiteRange(what: string, lo: number, hi: number): void {
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo <= hi)) {
    throw new RangeError(
      `Cannot create ${what} as 'lo' and 'hi' must be finite with lo <= hi: current values are ${lo} and ${hi}`,
    );
  }
}

/**
 * One of `values`.
 *
 * @param values The candidates (at least one).
 * @returns The dimension.
 * @throws {RangeError} If `values` is empty.
 *
 * @example
 * ```ts
 * import { choice } from "@fitloop/fitloop/sweep";
 * import { assertEquals } from "@std/assert";
 * assertEquals(choice([16, 32]).values, [16, 32]);
 * ```
 */
export function choice<const T>(values: readonly T[]): Choice<T> {
  if (values.length === 0) {
    throw new RangeError("Cannot create choice as 'values' must not be empty: current length is 0");
  }
  return { kind: "choice", values: values.slice() };
}

/**
 * A float uniform in [lo, hi).
 *
 * @param lo Lower bound.
 * @param hi Upper bound.
 * @returns The dimension.
 * @throws {RangeError} If the bounds are not finite or lo > hi.
 *
 * @example
 * ```ts
 * import { uniform } from "@fitloop/fitloop/sweep";
 * import { assertEquals } from "@std/assert";
 * assertEquals(uniform(0, 0.5).kind, "uniform");
 * ```
 */
export function uniform(lo: number, hi: number): Uniform {
  _finiteRange("uniform", lo, hi);
  return { kind: "uniform", lo, hi };
}

/**
 * A float log-uniform in [lo, hi), for scales such as learning rates.
 *
 * @param lo Lower bound (> 0).
 * @param hi Upper bound.
 * @returns The dimension.
 * @throws {RangeError} If `lo` is not > 0 or the bounds are out of order.
 *
 * @example
 * ```ts
 * import { logUniform } from "@fitloop/fitloop/sweep";
 * import { assertEquals } from "@std/assert";
 * assertEquals(logUniform(1e-4, 1e-1).lo, 1e-4);
 * ```
 */
export function logUniform(lo: number, hi: number): LogUniform {
  _finiteRange("logUniform", lo, hi);
  if (!(lo > 0)) {
    throw new RangeError(`Cannot create logUniform as 'lo' must be > 0: current value is ${lo}`);
  }
  return { kind: "logUniform", lo, hi };
}

/**
 * An integer uniform in lo..hi, both included.
 *
 * @param lo Lowest value (an integer).
 * @param hi Highest value (an integer).
 * @returns The dimension.
 * @throws {RangeError} If the bounds are not integers or lo > hi.
 *
 * @example
 * ```ts
 * import { intUniform } from "@fitloop/fitloop/sweep";
 * import { assertEquals } from "@std/assert";
 * assertEquals(intUniform(1, 3).hi, 3);
 * ```
 */
export function intUniform(lo: number, hi: number): IntUniform {
  _finiteRange("intUniform", lo, hi);
  if (!(Number.isInteger(lo) && Number.isInteger(hi))) {
    throw new RangeError(
      `Cannot create intUniform as 'lo' and 'hi' must be integers: current values are ${lo} and ${hi}`,
    );
  }
  return { kind: "intUniform", lo, hi };
}

/**
 * Whether a space entry is a dimension (not a constant).
 *
 * @param value A space entry.
 * @returns True for choice, uniform, logUniform and intUniform.
 *
 * @example
 * ```ts
 * import { isDimension, uniform } from "@fitloop/fitloop/sweep";
 * import { assertEquals } from "@std/assert";
 * assertEquals([isDimension(uniform(0, 1)), isDimension(3)], [true, false]);
 * ```
 */
export function isDimension(value: unknown): value is Dimension {
  const kind = (value as { kind?: unknown } | null)?.kind;
  return typeof value === "object" && value !== null &&
    (kind === "choice" || kind === "uniform" || kind === "logUniform" || kind === "intUniform");
}

/** What a sampler knows when it picks a trial's parameters. */
export interface SampleContext {
  /** The trials that have ended (finished, pruned or failed), by index; running ones are absent. */
  readonly history: readonly TrialRecord[];
  /** Whether the sweep minimizes or maximizes. */
  readonly direction: Direction;
}

/**
 * A sampler: how many trials a sweep runs over a space, and trial `index`'s parameters.
 * `sample` must be a pure function of (space, index, context) so that any worker of a
 * shared study computes the same parameters from the same history.
 */
export interface Sampler {
  /** Name, for logs and the study's record. */
  readonly name: string;
  /** Whether trial `index`'s parameters depend on nothing but the index (grid, random): a
   * resumed sweep then checks that its storage holds the same parameters. */
  readonly planned: boolean;
  /** The number of trials the sweep runs over `space`. */
  size(space: SearchSpace): number;
  /** The parameters of trial `index` (0 <= index < size), given what has ended so far. */
  sample(space: SearchSpace, index: number, context: SampleContext): Record<string, unknown>;
}

/** A sampler that plans every trial ahead: `plan(space)` lists them all. */
export interface PlannedSampler extends Sampler {
  /** The planned parameters, in order. */
  plan<S extends SearchSpace>(space: S): ParamsOf<S>[];
}

/**
 * Every combination of the choices (constants held fixed), in order, the last dimension
 * varying fastest.
 *
 * @returns The sampler.
 *
 * @example Two by two
 * ```ts
 * import { choice, grid } from "@fitloop/fitloop/sweep";
 * import { assertEquals } from "@std/assert";
 * const plan = grid().plan({ lr: choice([0.1, 0.01]), bs: choice([32, 64]), epochs: 3 });
 * assertEquals(plan.length, 4);
 * assertEquals(plan[1], { lr: 0.1, bs: 64, epochs: 3 });
 * ```
 */
export function grid(): PlannedSampler {
  const plan = <S extends SearchSpace>(space: S): ParamsOf<S>[] => {
    const keys = Object.keys(space);
    for (const k of keys) {
      const v = space[k];
      if (isDimension(v) && v.kind !== "choice") {
        throw new TypeError(
          `Cannot plan a grid as '${k}' is ${v.kind}: a grid takes choice() and constants only`,
        );
      }
    }
    let rows: Record<string, unknown>[] = [{}];
    for (const k of keys) {
      const v = space[k];
      const options = isDimension(v) ? (v as Choice<unknown>).values : [v];
      rows = rows.flatMap((row) => options.map((o) => ({ ...row, [k]: o })));
    }
    return rows as ParamsOf<S>[];
  };
  let cached: { space: SearchSpace; rows: Record<string, unknown>[] } | undefined;
  return {
    name: "grid",
    planned: true,
    plan,
    size: (space) => plan(space).length,
    sample(space, index) {
      if (cached?.space !== space) cached = { space, rows: plan(space) };
      const row = cached.rows[index];
      if (!row) {
        throw new RangeError(
          `Cannot sample the grid as 'index' must be below ${cached.rows.length}: current value is ${index}`,
        );
      }
      return { ...row };
    },
  };
}

/** Options of {@linkcode random}. */
export interface RandomOptions {
  /** Number of trials. */
  readonly n: number;
  /** Seed: the same seed gives the same trials. @default {0} */
  readonly seed?: number;
}

/** One draw of a dimension from a uniform generator. */
function drawDimension(d: Dimension, rand: () => number): unknown {
  switch (d.kind) {
    case "choice":
      return d.values[Math.min(d.values.length - 1, Math.floor(rand() * d.values.length))];
    case "uniform":
      return d.lo + rand() * (d.hi - d.lo);
    case "logUniform":
      return Math.exp(Math.log(d.lo) + rand() * (Math.log(d.hi) - Math.log(d.lo)));
    case "intUniform":
      return Math.min(d.hi, d.lo + Math.floor(rand() * (d.hi - d.lo + 1)));
  }
}

/**
 * `n` trials drawn independently from the space with a seeded generator. Trial `i`
 * depends only on (seed, i, the space), so a longer plan extends a shorter one.
 *
 * @param options Number of trials and seed.
 * @returns The sampler.
 * @throws {RangeError} If `n` is not a positive integer.
 *
 * @example
 * ```ts
 * import { choice, logUniform, random } from "@fitloop/fitloop/sweep";
 * import { assertEquals } from "@std/assert";
 * const space = { lr: logUniform(1e-4, 1e-1), width: choice([32, 64]) };
 * const a = random({ n: 5, seed: 1 }).plan(space);
 * assertEquals(a, random({ n: 5, seed: 1 }).plan(space));
 * assertEquals(a.length, 5);
 * ```
 */
export function random(options: RandomOptions): PlannedSampler {
  const { n, seed = 0 } = options;
  if (!(Number.isInteger(n) && n >= 1)) {
    throw new RangeError(
      `Cannot create random as 'n' must be a positive integer: current value is ${n}`,
    );
  }
  const one = (space: SearchSpace, i: number): Record<string, unknown> => {
    const rand = mulberry32(mixSeed(seed, i));
    const row: Record<string, unknown> = {};
    for (const k of Object.keys(space)) {
      const v = space[k];
      row[k] = isDimension(v) ? drawDimension(v, rand) : v;
    }
    return row;
  };
  return {
    name: `random(n=${n}, seed=${seed})`,
    planned: true,
    plan: <S extends SearchSpace>(space: S): ParamsOf<S>[] =>
      Array.from({ length: n }, (_, i) => one(space, i) as ParamsOf<S>),
    size: () => n,
    sample: (space, index) => one(space, index),
  };
}
