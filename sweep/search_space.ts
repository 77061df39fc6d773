/**
 * Search spaces and sweep strategies, as pure data and pure functions: a space is a plain
 * record of `choice`, `uniform`, `logUniform`, `intUniform` and constants; a strategy
 * turns it into a deterministic plan of trials (the same seed gives the same trials).
 *
 * @module
 */
import { mixSeed, mulberry32 } from "../core/_rng.ts";

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

/** A sweep strategy: turns a space into the planned trials' parameters. */
export interface Strategy {
  /** Name, for logs. */
  readonly name: string;
  /** The planned parameters, in order. */
  plan<S extends SearchSpace>(space: S): ParamsOf<S>[];
}

/**
 * Every combination of the choices (constants held fixed), in order, the last dimension
 * varying fastest.
 *
 * @returns The strategy.
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
export function grid(): Strategy {
  return {
    name: "grid",
    plan<S extends SearchSpace>(space: S): ParamsOf<S>[] {
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
function _draw(d: Dimension, rand: () => number): unknown {
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
 * @returns The strategy.
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
export function random(options: RandomOptions): Strategy {
  const { n, seed = 0 } = options;
  if (!(Number.isInteger(n) && n >= 1)) {
    throw new RangeError(
      `Cannot create random as 'n' must be a positive integer: current value is ${n}`,
    );
  }
  return {
    name: `random(n=${n}, seed=${seed})`,
    plan<S extends SearchSpace>(space: S): ParamsOf<S>[] {
      const keys = Object.keys(space);
      return Array.from({ length: n }, (_, i) => {
        const rand = mulberry32(mixSeed(seed, i));
        const row: Record<string, unknown> = {};
        for (const k of keys) {
          const v = space[k];
          row[k] = isDimension(v) ? _draw(v, rand) : v;
        }
        return row as ParamsOf<S>;
      });
    },
  };
}
