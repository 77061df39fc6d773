// Gradient recording for one training batch: the forward pass, the loss and the
// synchronous hooks between them run inside tfjs's tape; tensors the body wants to keep
// past the recording are kept with tf.keep. A body that asks to skip the backward pass
// returns a loss not connected to any variable, so the tape is closed without a backward
// pass (no exception is thrown to get out).
import * as tf from "@tensorflow/tfjs";
import type { Grads, Scalar, Tensor, Variable } from "./types.ts";

/** What a recorded body returns: its loss, whether to skip the backward pass, and a value. */
export interface Body<T> {
  readonly loss: Scalar;
  readonly skipBackward: boolean;
  readonly carry: T;
}

/**
 * The recording's result: the body's value and the gradients by variable name (undefined
 * when skipped; empty when the loss depends on no variable).
 */
export interface Recorded<T> {
  readonly carry: T;
  readonly grads: Grads | undefined;
}

/**
 * Runs `body` under gradient recording and returns the gradients of its loss with respect
 * to `variables` (by variable name). Tensors the body returns in `carry` must be kept by
 * the body (`tf.keep`); everything else it made is freed with the tape, also when it throws.
 */
export function recordGradients<T>(
  variables: readonly Variable[],
  body: () => Body<T>,
): Recorded<T> {
  let out: Body<T> | undefined;
  let result: { value: Tensor; grads: (Tensor | null)[] };
  try {
    result = tf.engine().gradients(
      () => {
        out = body();
        return out.skipBackward ? tf.scalar(0) : out.loss;
      },
      variables.slice(),
      undefined,
      true,
    ) as { value: Tensor; grads: (Tensor | null)[] };
  } catch (e) {
    discardTape();
    throw e;
  }
  const done = out!;
  if (done.skipBackward) {
    result.value.dispose(); // the stand-in scalar; the body's loss is its own
    return { carry: done.carry, grads: undefined };
  }
  const grads: Record<string, Tensor> = {};
  variables.forEach((v, i) => {
    const g = result.grads[i];
    if (g) grads[v.name] = g;
  });
  return { carry: done.carry, grads };
}

/**
 * After an exception inside the recording, tfjs leaves the tape holding the tensors it
 * saved for the backward pass; free them and close the tape.
 */
function discardTape(): void {
  const state = (tf.engine() as unknown as {
    state?: { gradientDepth: number; activeTape: { saved?: Tensor[] }[] | null };
  }).state;
  if (!state || state.gradientDepth !== 0 || !state.activeTape) return;
  for (const node of state.activeTape) {
    for (const t of node.saved ?? []) if (!t.isDisposed) t.dispose();
  }
  state.activeTape = null;
}
