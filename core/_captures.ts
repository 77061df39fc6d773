// The forward pass with intermediate outputs: callbacks name layers (`Callback.captures`)
// and the loop keeps those layers' outputs from the same forward pass, in
// `state.lastCaptures`. A LayersModel is run through a second functional model over the
// same layers (same weights, no copy) whose outputs are the model's and the named layers';
// a hand-written model reports intermediates itself through `options.capture`.
import * as tf from "@tensorflow/tfjs";
import type { Callback } from "./callback.ts";
import type { LearnerCore } from "./learner_core.ts";
import { forward, isLayersModel } from "./_params.ts";
import type { Input, Tensor } from "./types.ts";

/** A forward pass that also returns the named intermediate outputs. */
export type CapturingForward = (
  input: Input,
  training: boolean,
) => { output: Tensor; captures: Record<string, Tensor> };

/** The layer names the callbacks ask for (each once, in the order asked). */
export function captureNames(callbacks: readonly Callback[], learn: LearnerCore): string[] {
  const names = new Set<string>();
  for (const cb of callbacks) {
    if (cb.captures === undefined) continue;
    if (typeof cb.captures !== "function") {
      throw new TypeError(
        `Cannot use callback '${cb.name}' as 'captures' must be a function of the learner: ` +
          `current type is ${typeof cb.captures}`,
      );
    }
    const asked = cb.captures(learn);
    if (!Array.isArray(asked) || asked.some((n) => typeof n !== "string")) {
      throw new TypeError(
        `Cannot use callback '${cb.name}' as 'captures' must return layer names (strings): ` +
          `it returned ${String(asked)}`,
      );
    }
    for (const n of asked) names.add(n);
  }
  return [...names];
}

/** The learner's forward pass, keeping the outputs of the layers named. */
export function capturingForward(learn: LearnerCore, names: readonly string[]): CapturingForward {
  if (names.length === 0) {
    return (input, training) => ({ output: forward(learn, input, training), captures: {} });
  }
  const model = learn.model;
  if (isLayersModel(model)) {
    const known = model.layers.map((l) => l.name);
    const layers = names.map((n) => {
      const layer = model.layers.find((l) => l.name === n);
      if (!layer) {
        throw new RangeError(
          `Cannot capture the output of layer '${n}': the model has no layer of that name ` +
            `(its layers: ${known.join(", ")})`,
        );
      }
      return layer;
    });
    const outs = layers.map((l) => {
      const out = l.output;
      if (Array.isArray(out)) {
        throw new RangeError(
          `Cannot capture the output of layer '${l.name}': it has ${out.length} outputs`,
        );
      }
      return out;
    });
    const nOut = model.outputs.length;
    if (nOut !== 1) {
      throw new TypeError(
        `Cannot train a model with ${nOut} outputs: fitloop's loss takes one output tensor`,
      );
    }
    // each symbolic tensor once (a functional model refuses repeated outputs)
    const fetched = [...model.outputs];
    const at = outs.map((o) => {
      const i = fetched.indexOf(o);
      return i >= 0 ? i : fetched.push(o) - 1;
    });
    const tapped = tf.model({ inputs: model.inputs, outputs: fetched });
    return (input, training) => {
      const result = tapped.apply(input as Tensor, { training }) as Tensor | Tensor[];
      const all = Array.isArray(result) ? result : [result];
      const captures: Record<string, Tensor> = {};
      names.forEach((n, i) => (captures[n] = all[at[i]!]!));
      return { output: all[0]!, captures };
    };
  }
  const wanted = new Set(names);
  return (input, training) => {
    const captures: Record<string, Tensor> = {};
    const capture = (name: string, value: Tensor): void => {
      if (wanted.has(name)) captures[name] = value;
    };
    const output = model.apply(input, { training, capture });
    if (Array.isArray(output)) {
      throw new TypeError(
        `Cannot train a model with ${
          (output as Tensor[]).length
        } outputs: fitloop's loss takes one output tensor`,
      );
    }
    const missing = names.filter((n) => !(n in captures));
    if (missing.length > 0) {
      throw new RangeError(
        `Cannot capture '${missing.join("', '")}': the hand-written model's apply did not ` +
          `report ${missing.length === 1 ? "it" : "them"} with options.capture(name, tensor) ` +
          `(it reported: ${Object.keys(captures).join(", ") || "nothing asked for"})`,
      );
    }
    return { output, captures };
  };
}
