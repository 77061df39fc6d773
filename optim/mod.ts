/**
 * Functional optimizers whose hyper-parameters can change every batch: records of pure
 * `init`/`update` functions (Optax's shape), with the hyper-parameters in the training
 * state, one record per layer group.
 *
 * The lowest layer: imports only tfjs, nothing of fitloop's other folders (core/ and
 * callbacks/ import it).
 *
 * @example Adam's defaults
 * ```ts
 * import { adam } from "@fitloop/fitloop/optim";
 * import { assertEquals } from "@std/assert";
 * assertEquals(adam().defaults.mom, 0.9);
 * ```
 *
 * @module
 */
export * from "./optimizer.ts";
export * from "./sgd.ts";
export * from "./adam.ts";
export * from "./rmsprop.ts";
export * from "./lamb.ts";
export * from "./lookahead.ts";
export * from "./hypers.ts";
export * from "./clip_grad_norm.ts";
