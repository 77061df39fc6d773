import type { Callback, StateUpdate } from "../core/callback.ts";
import { clipGradNorm } from "../optim/clip_grad_norm.ts";
import type { TrainState } from "../core/state.ts";
import { checkOptions } from "../core/_options.ts";

/** Options of {@linkcode gradientClipping}. */
export interface GradientClippingOptions {
  /** Largest global gradient norm. */
  readonly clip: number;
}

/**
 * Clips the gradients to a global norm of at most `clip` in onBackwardEnd (the seed's
 * GradientClipping), on the device: no read per batch.
 *
 * @param options The largest norm.
 * @returns The callback.
 * @throws {RangeError} If `clip` is not a positive number.
 *
 * @example
 * ```ts
 * import { gradientClipping } from "@fitloop/fitloop/callbacks";
 * import { assertEquals } from "@std/assert";
 * assertEquals(gradientClipping({ clip: 1 }).name, "gradientClipping");
 * ```
 */
export function gradientClipping(options: GradientClippingOptions): Callback {
  checkOptions("create gradientClipping", options, ["clip"], "{ clip }");
  const clip = options.clip;
  if (!(Number.isFinite(clip) && clip > 0)) {
    throw new RangeError(
      `Cannot create gradientClipping as 'clip' must be a positive number: current value is ${clip}`,
    );
  }
  return {
    name: "gradientClipping",
    onBackwardEnd: (s: TrainState): StateUpdate | void =>
      s.grads ? { grads: clipGradNorm(s.grads, clip) } : undefined,
  };
}
