/**
 * The schedule type: a function from the fraction of training done to a value.
 *
 * @module
 */

/** A schedule: the value of a hyper-parameter at fraction `pct` (0 to 1) of training. */
export type Schedule<T = number> = (pct: number) => T;
