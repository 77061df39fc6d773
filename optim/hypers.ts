/**
 * Hyper-parameters per layer group: the one vocabulary every optimizer reads, learning
 * rates spread over groups, and reading/setting one hyper-parameter.
 *
 * @module
 */

/**
 * The hyper-parameters of one layer group, in one vocabulary for every optimizer:
 * `lr`, `mom` (momentum, Adam's beta1), `sqrMom` (Adam's beta2, RMSProp's decay), `eps`
 * and `wd`. Callbacks may add their own numeric keys.
 */
export interface Hypers {
  /** Learning rate. */
  readonly lr: number;
  /** Momentum (SGD), beta1 (Adam, LAMB) or unused. */
  readonly mom: number;
  /** Adam's beta2, RMSProp's decay. */
  readonly sqrMom: number;
  /** Numerical epsilon of adaptive optimizers. */
  readonly eps: number;
  /** Weight decay. */
  readonly wd: number;
  /** Any other numeric hyper-parameter a callback schedules. */
  readonly [key: string]: number;
}

/** A learning rate spread geometrically over the layer groups (made by {@linkcode lrRange}). */
export interface LrRange {
  /** Marks the record. */
  readonly kind: "lrRange";
  /** Learning rate of the first group (`undefined`: every group but the last gets `stop / 10`). */
  readonly start: number | undefined;
  /** Learning rate of the last group. */
  readonly stop: number;
}

/** A learning rate: one for all groups, one per group, or a geometric range. */
export type LearningRate = number | readonly number[] | LrRange;

/**
 * The values of one hyper-parameter, one per layer group (the seed's `read_val`).
 *
 * @param hypers Hyper-parameters per layer group.
 * @param key The hyper-parameter.
 * @returns One value per group.
 * @throws {RangeError} If a group lacks the key.
 *
 * @example
 * ```ts
 * import { readHyper } from "@fitloop/fitloop/optim";
 * import { assertEquals } from "@std/assert";
 * const h = { lr: 1, mom: 0.9, sqrMom: 0.99, eps: 1e-7, wd: 0 };
 * assertEquals(readHyper([h, { ...h, lr: 2 }], "lr"), [1, 2]);
 * ```
 */
export function readHyper(hypers: readonly Hypers[], key: string): number[] {
  return hypers.map((h, i) => {
    const v = h[key];
    if (v === undefined) {
      throw new RangeError(
        `Cannot read hyper-parameter '${key}' as layer group ${i} has none: it has ${
          Object.keys(h).join(", ")
        }`,
      );
    }
    return v;
  });
}

/**
 * New hyper-parameters with `key` set to `value` in every group, or to `values[i]` in
 * group `i` (the seed's `set_val`, pure). The input is not modified.
 *
 * @param hypers Hyper-parameters per layer group.
 * @param key The hyper-parameter.
 * @param value One value for all groups, or one per group.
 * @returns The new hyper-parameters.
 * @throws {RangeError} If `value` is an array of the wrong length (both lengths named) or
 * holds a non-finite number.
 *
 * @example Discriminative learning rates
 * ```ts
 * import { readHyper, setHyper } from "@fitloop/fitloop/optim";
 * import { assertEquals } from "@std/assert";
 * const h = { lr: 1, mom: 0.9, sqrMom: 0.99, eps: 1e-7, wd: 0 };
 * assertEquals(readHyper(setHyper([h, h], "lr", [0.1, 0.2]), "lr"), [0.1, 0.2]);
 * ```
 */
export function setHyper(
  hypers: readonly Hypers[],
  key: string,
  value: number | readonly number[],
): Hypers[] {
  if (typeof value !== "number" && value.length !== hypers.length) {
    throw new RangeError(
      `Cannot set hyper-parameter '${key}' with ${value.length} values for ${hypers.length} ` +
        `layer groups: the lengths must match`,
    );
  }
  return hypers.map((h, i) => {
    const v = typeof value === "number" ? value : value[i]!;
    if (typeof v !== "number" || Number.isNaN(v)) {
      throw new RangeError(
        `Cannot set hyper-parameter '${key}' of layer group ${i} as it must be a number: ` +
          `current value is ${v}`,
      );
    }
    return { ...h, [key]: v };
  });
}

/**
 * A learning rate spread geometrically over the layer groups (fastai's `lr_range` /
 * `even_mults`): `lrRange(start, stop)` goes from `start` (first group) to `stop` (last);
 * `lrRange(stop)` gives `stop / 10` to every group but the last, which gets `stop`.
 *
 * @param startOrStop `start`, or `stop` when called with one argument.
 * @param stop Learning rate of the last group.
 * @returns A range for the `lr` option of `fit`.
 * @throws {RangeError} If a value is not finite and positive.
 *
 * @example Three groups from 1e-4 to 1e-2
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { lrRange } from "@fitloop/fitloop/optim";
 * import { assertEquals } from "@std/assert";
 * assertEquals(lrRange(1e-4, 1e-2), { kind: "lrRange", start: 1e-4, stop: 1e-2 });
 * ```
 */
export function lrRange(startOrStop: number, stop?: number): LrRange {
  const range: LrRange = stop === undefined
    ? { kind: "lrRange", start: undefined, stop: startOrStop }
    : { kind: "lrRange", start: startOrStop, stop };
  for (const [name, v] of [["start", range.start], ["stop", range.stop]] as const) {
    if (v !== undefined && !(Number.isFinite(v) && v > 0)) {
      throw new RangeError(`Cannot create lrRange as '${name}' must be > 0: current value is ${v}`);
    }
  }
  return range;
}

/**
 * The learning rate of each of `nGroups` layer groups.
 *
 * @param lr One rate, one per group, or an {@linkcode lrRange}.
 * @param nGroups Number of layer groups.
 * @returns One learning rate per group.
 * @throws {RangeError} If an array's length is not `nGroups` or a rate is not finite.
 *
 * @example A range over three groups is geometric
 * ```ts
 * import { lrRange, resolveLr } from "@fitloop/fitloop/optim";
 * import { assertAlmostEquals } from "@std/assert";
 * const lrs = resolveLr(lrRange(1e-4, 1e-2), 3);
 * assertAlmostEquals(lrs[1]!, 1e-3, 1e-12);
 * ```
 */
export function resolveLr(lr: LearningRate, nGroups: number): number[] {
  if (typeof lr === "object" && !Array.isArray(lr)) {
    const range = lr as LrRange;
    const stop = range.stop;
    if (nGroups === 1) return [stop];
    if (range.start === undefined) {
      return Array.from({ length: nGroups }, (_, i) => (i === nGroups - 1 ? stop : stop / 10));
    }
    const start = range.start;
    const ratio = (stop / start) ** (1 / (nGroups - 1));
    return Array.from(
      { length: nGroups },
      (_, i) => (i === nGroups - 1 ? stop : start * ratio ** i),
    );
  }
  return perGroup("lr", lr as number | readonly number[], nGroups);
}

/**
 * One value per layer group from a single value or an array of them.
 *
 * @param name The option's name, for errors.
 * @param value One value, or one per group.
 * @param nGroups Number of layer groups.
 * @returns One value per group.
 * @throws {RangeError} If the array's length is not `nGroups` or a value is not finite.
 *
 * @example
 * ```ts
 * import { perGroup } from "@fitloop/fitloop/optim";
 * import { assertEquals } from "@std/assert";
 * assertEquals(perGroup("wd", 0.1, 2), [0.1, 0.1]);
 * ```
 */
export function perGroup(
  name: string,
  value: number | readonly number[],
  nGroups: number,
): number[] {
  const values = typeof value === "number"
    ? Array.from({ length: nGroups }, () => value)
    : value.slice();
  if (values.length !== nGroups) {
    throw new RangeError(
      `Cannot fit as '${name}' has ${values.length} values for ${nGroups} layer groups: ` +
        `expected one per group`,
    );
  }
  values.forEach((v, i) => {
    if (!Number.isFinite(v)) {
      throw new RangeError(
        `Cannot fit as '${name}${
          typeof value === "number" ? "" : `[${i}]`
        }' must be finite: current value is ${v}`,
      );
    }
  });
  return values;
}
