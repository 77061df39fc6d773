/**
 * Schedules as higher-order functions: a schedule is `(pct) => value` over the fraction of
 * training done, built from the seed's annealing functions and combined freely. Pure: no
 * tfjs here.
 *
 * The lowest layer: imports nothing of fitloop's other folders (core/ and callbacks/
 * import it).
 *
 * @example One-cycle learning rate, dry-run over 10 steps
 * ```ts
 * import { oneCycleScheds, simulate } from "@fitloop/fitloop/schedules";
 * import { assertAlmostEquals } from "@std/assert";
 * const lrs = simulate(oneCycleScheds({ lrMax: 0.01, pctStart: 0.2 }).lr, 10);
 * assertAlmostEquals(Math.max(...lrs), 0.01, 1e-12);
 * ```
 *
 * @module
 */
export * from "./annealing.ts";
export * from "./schedule.ts";
export * from "./combine_scheds.ts";
export * from "./one_cycle_scheds.ts";
export * from "./stepper.ts";
export * from "./sgdr_scheds.ts";
export * from "./warmup_cos.ts";
export * from "./piecewise.ts";
export * from "./simulate.ts";
