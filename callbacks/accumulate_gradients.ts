import * as tf from "@tensorflow/tfjs";
import type { Callback, StateUpdate } from "../core/callback.ts";
import type { TrainState } from "../core/state.ts";
import type { Scalar, Tensor } from "../core/types.ts";
import { memoryOf } from "../core/callback.ts";
import { checkOptions } from "../core/_options.ts";

/** Options of {@linkcode accumulateGradients}. */
export interface AccumulateGradientsOptions {
  /** Number of batches whose gradients make one step. */
  readonly nStep: number;
}

/** The memory of {@linkcode accumulateGradients}. */
export interface AccumulateGradientsMemory {
  /** Samples gathered since the last step. */
  readonly samples: number;
  /** Batches gathered since the last step. */
  readonly batches: number;
}

/**
 * Gathers gradients over `nStep` batches and steps once, so that training equals one
 * batch `nStep` times as large: each batch's loss is weighted by its size for the
 * backward pass (the recorded loss is unchanged), the step is skipped and the gradients
 * kept (`skipStep`, `skipZero`) until the `nStep`-th batch, whose summed gradients are
 * divided by the samples gathered. Gradients gathered when a fit ends short of `nStep`
 * batches are dropped; across epochs they carry on.
 *
 * @param options Batches per step.
 * @returns The callback.
 * @throws {RangeError} If `nStep` is not a positive integer.
 *
 * @example
 * ```ts
 * import { accumulateGradients } from "@fitloop/fitloop/callbacks";
 * import { assertEquals } from "@std/assert";
 * assertEquals(accumulateGradients({ nStep: 4 }).name, "accumulateGradients");
 * ```
 */
export function accumulateGradients(options: AccumulateGradientsOptions): Callback {
  checkOptions("create accumulateGradients", options, ["nStep"], "{ nStep }");
  const { nStep } = options;
  if (!(Number.isInteger(nStep) && nStep >= 1)) {
    throw new RangeError(
      `Cannot create accumulateGradients as 'nStep' must be a positive integer: current value is ${nStep}`,
    );
  }
  const name = "accumulateGradients";
  const initial: AccumulateGradientsMemory = { samples: 0, batches: 0 };
  const size = (s: TrainState): number => s.lastTarget?.shape[0] ?? 1;
  return {
    name,
    onTrainBegin: (): StateUpdate => ({ memory: initial }),
    onBackwardBegin(s: TrainState): StateUpdate {
      const m = memoryOf(s, name, initial);
      const b = size(s);
      return {
        lastLoss: tf.mul(s.lastLoss!, b) as Scalar,
        memory: { samples: m.samples + b, batches: m.batches + 1 },
      };
    },
    onBackwardEnd(s: TrainState): StateUpdate {
      const m = memoryOf(s, name, initial);
      if (m.batches < nStep) return { skipStep: true };
      const grads: Record<string, Tensor> = {};
      for (const [k, g] of Object.entries(s.grads ?? {})) grads[k] = tf.div(g, m.samples);
      return { grads, memory: initial };
    },
    onStepEnd(s: TrainState): StateUpdate | void {
      if (memoryOf(s, name, initial).batches > 0) return { skipZero: true };
    },
  };
}
