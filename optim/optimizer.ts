/**
 * The optimizer protocol. An optimizer is a record of pure functions in Optax's shape:
 * `init` gives a parameter's initial slots (moments), `update` gives the new parameter
 * and slots from the gradient and the hyper-parameters of this step. Nothing is held
 * inside: hyper-parameters come from the training state every step (so schedules change
 * them for free) and the slots live in an {@linkcode OptimizerState} the learner keeps.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Hypers } from "./hypers.ts";
import type { Grads, Tensor, Variable } from "./types.ts";

/** Default hyper-parameters of an optimizer (lr and wd come from the fit). */
export interface OptimizerDefaults {
  /** Momentum or beta1. */
  readonly mom: number;
  /** Beta2 or squared-gradient decay. */
  readonly sqrMom: number;
  /** Numerical epsilon. */
  readonly eps: number;
}

/** A parameter's new value and slots, as {@linkcode Optimizer.update} returns them. */
export interface ParamUpdate {
  /** The new parameter value. */
  readonly param: Tensor;
  /** The new slot values, in the order `init` gave them. */
  readonly slots: readonly Tensor[];
}

/** An optimizer: a name, defaults and two pure tensor functions. */
export interface Optimizer {
  /** Name, for logs and snapshots. */
  readonly name: string;
  /** Default `mom`, `sqrMom` and `eps`. */
  readonly defaults: OptimizerDefaults;
  /** The initial slots of a parameter (zeros, typically). */
  init(param: Tensor): Tensor[];
  /**
   * One step for one parameter. Runs inside `tf.tidy`; must not keep tensors.
   * `step` counts from 1 (for bias correction).
   */
  update(
    param: Tensor,
    grad: Tensor,
    slots: readonly Tensor[],
    hypers: Hypers,
    step: number,
  ): ParamUpdate;
}

/** A trainable parameter as the loop sees it: its variable, layer group and decay flag. */
export interface Param {
  /** The variable. */
  readonly variable: Variable;
  /** Index of its layer group in `hypers`. */
  readonly group: number;
  /** Whether weight decay applies to it (false for biases/normalisation with `bnWd: false`). */
  readonly decay: boolean;
}

/** The optimizer's memory: step count and slots keyed by variable name. */
export interface OptimizerState {
  /** Steps taken so far. */
  readonly step: number;
  /** Each parameter's slots (tf variables, updated in place), by variable name. */
  readonly slots: Readonly<Record<string, readonly Variable[]>>;
  /**
   * Steps each parameter took, by variable name: `update` gets a parameter's own count (as
   * PyTorch keeps one per parameter), so a parameter unfrozen late or frozen for a while
   * gets Adam's bias correction for the steps it really took. A parameter with slots but
   * no entry (a state from before this field) counts `step`. @default {{}}
   */
  readonly steps?: Readonly<Record<string, number>>;
}

/** Options of {@linkcode optimizerStep}. */
export interface StepOptions {
  /**
   * Decoupled weight decay (AdamW): `p <- p * (1 - lr * wd)` before the step; when false,
   * `wd * p` is added to the gradient (L2). @default {true}
   */
  readonly trueWd?: boolean;
}

/**
 * Creates the optimizer state for some parameters (zeros, as `init` says).
 *
 * @param optimizer The optimizer.
 * @param params The parameters.
 * @returns A state at step 0.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { initOptimizer, sgd } from "@fitloop/fitloop/optim";
 * import { assertEquals } from "@std/assert";
 * const w = tf.variable(tf.zeros([2]));
 * const state = initOptimizer(sgd(), [{ variable: w, group: 0, decay: true }]);
 * assertEquals(state.slots[w.name]!.length, 1);
 * disposeOptimizerState(state);
 * w.dispose();
 * import { disposeOptimizerState } from "@fitloop/fitloop/optim";
 * ```
 */
export function initOptimizer(optimizer: Optimizer, params: readonly Param[]): OptimizerState {
  return _withSlots(optimizer, params, { step: 0, slots: {} });
}

function _withSlots(
  optimizer: Optimizer,
  params: readonly Param[],
  state: OptimizerState,
): OptimizerState {
  let slots: Record<string, readonly Variable[]> | undefined;
  for (const p of params) {
    const name = p.variable.name;
    if (state.slots[name]) continue;
    slots ??= { ...state.slots };
    const initial = tf.tidy(() => optimizer.init(p.variable));
    slots[name] = initial.map((t, i) => {
      const v = tf.variable(t, false, `${name}/${optimizer.name}_slot${i}_${_uid()}`);
      t.dispose();
      return v;
    });
  }
  return slots ? { ...state, slots } : state;
}

/**
 * Applies one optimizer step to every parameter that has a gradient, in place, with the
 * hyper-parameters of its layer group, and returns the advanced state. `update` receives
 * the parameter's own step count (parameters without a gradient do not advance).
 *
 * @param optimizer The optimizer.
 * @param params The parameters.
 * @param grads Gradients by variable name (parameters without one are left alone).
 * @param state The optimizer state (slots are updated in place).
 * @param hypers Hyper-parameters per layer group.
 * @param options Weight-decay style.
 * @returns The state with `step` advanced.
 *
 * @example One plain SGD step
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { disposeOptimizerState, initOptimizer, optimizerStep, sgd } from "@fitloop/fitloop/optim";
 * import { assertAlmostEquals } from "@std/assert";
 * const w = tf.variable(tf.tensor1d([1]));
 * const params = [{ variable: w, group: 0, decay: true }];
 * const opt = sgd();
 * const s0 = initOptimizer(opt, params);
 * const g = { [w.name]: tf.tensor1d([2]) };
 * const s1 = optimizerStep(opt, params, g, s0, [{ lr: 0.1, mom: 0, sqrMom: 0, eps: 0, wd: 0 }]);
 * assertAlmostEquals((await w.data())[0]!, 0.8, 1e-6);
 * disposeOptimizerState(s1);
 * ```
 */
export function optimizerStep(
  optimizer: Optimizer,
  params: readonly Param[],
  grads: Grads,
  state: OptimizerState,
  hypers: readonly Hypers[],
  options: StepOptions = {},
): OptimizerState {
  const trueWd = options.trueWd ?? true;
  const current = _withSlots(optimizer, params, state);
  const step = current.step + 1;
  const steps: Record<string, number> = { ...state.steps };
  for (const p of params) {
    const name = p.variable.name;
    const grad = grads[name];
    if (!grad) continue;
    const h = hypers[p.group]!;
    const slots = current.slots[name]!;
    const own = (steps[name] ?? (state.slots[name] ? state.step : 0)) + 1;
    steps[name] = own;
    tf.tidy(() => {
      let w: Tensor = p.variable;
      let g: Tensor = grad;
      if (h.wd !== 0 && p.decay) {
        if (trueWd) w = tf.mul(w, 1 - h.lr * h.wd);
        else g = tf.add(g, tf.mul(w, h.wd));
      }
      const next = optimizer.update(w, g, slots, h, own);
      if (next.param !== p.variable) p.variable.assign(next.param);
      for (let i = 0; i < slots.length; i++) {
        const value = next.slots[i]!;
        if (value !== slots[i]) slots[i]!.assign(value);
      }
    });
  }
  return { step, slots: current.slots, steps };
}

/**
 * Frees the slot variables of an optimizer state.
 *
 * @param state The state to free.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { adam, disposeOptimizerState, initOptimizer } from "@fitloop/fitloop/optim";
 * import { assertEquals } from "@std/assert";
 * const w = tf.variable(tf.zeros([3]));
 * const before = tf.memory().numTensors;
 * disposeOptimizerState(initOptimizer(adam(), [{ variable: w, group: 0, decay: true }]));
 * assertEquals(tf.memory().numTensors, before);
 * w.dispose();
 * ```
 */
export function disposeOptimizerState(state: OptimizerState): void {
  for (const slots of Object.values(state.slots)) {
    for (const v of slots) if (!v.isDisposed) v.dispose();
  }
}

/** An optimizer state as plain, JSON-serialisable data. */
export interface OptimizerStateData {
  /** Steps taken. */
  readonly step: number;
  /** Steps each parameter took, by variable name. @default {{}} */
  readonly steps?: Readonly<Record<string, number>>;
  /** Each parameter's slots as shapes and values, by variable name. */
  readonly slots: Readonly<
    Record<
      string,
      readonly { readonly shape: readonly number[]; readonly values: readonly number[] }[]
    >
  >;
}

/**
 * Reads an optimizer state out as plain data (one async read per slot; no `dataSync`).
 *
 * @param state The state.
 * @returns Its step and slot values.
 *
 * @example A round trip
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import {
 *   adam, disposeOptimizerState, exportOptimizerState, importOptimizerState, initOptimizer,
 * } from "@fitloop/fitloop/optim";
 * import { assertEquals } from "@std/assert";
 * const w = tf.variable(tf.ones([2]));
 * const state = initOptimizer(adam(), [{ variable: w, group: 0, decay: true }]);
 * const data = await exportOptimizerState(state);
 * const back = importOptimizerState(JSON.parse(JSON.stringify(data)));
 * assertEquals(await exportOptimizerState(back), data);
 * disposeOptimizerState(state);
 * disposeOptimizerState(back);
 * w.dispose();
 * ```
 */
export async function exportOptimizerState(state: OptimizerState): Promise<OptimizerStateData> {
  const slots: Record<string, { shape: number[]; values: number[] }[]> = {};
  for (const [name, vars] of Object.entries(state.slots)) {
    slots[name] = await Promise.all(
      vars.map(async (v) => ({ shape: v.shape.slice(), values: Array.from(await v.data()) })),
    );
  }
  return { step: state.step, slots, ...(state.steps ? { steps: { ...state.steps } } : {}) };
}

/**
 * Makes an optimizer state (new slot variables) from plain data.
 *
 * @param data What {@linkcode exportOptimizerState} returned.
 * @returns The state; free it with {@linkcode disposeOptimizerState}.
 * @throws {RangeError} If a slot's values do not fill its shape.
 *
 * @example
 * ```ts
 * import { disposeOptimizerState, importOptimizerState } from "@fitloop/fitloop/optim";
 * import { assertEquals } from "@std/assert";
 * const s = importOptimizerState({ step: 3, slots: { w: [{ shape: [2], values: [1, 2] }] } });
 * assertEquals(s.step, 3);
 * disposeOptimizerState(s);
 * ```
 */
export function importOptimizerState(data: OptimizerStateData): OptimizerState {
  const slots: Record<string, Variable[]> = {};
  for (const [name, list] of Object.entries(data.slots)) {
    slots[name] = list.map((slot, i) => {
      const size = slot.shape.reduce((a, b) => a * b, 1);
      if (size !== slot.values.length) {
        for (const made of Object.values(slots).flat()) made.dispose();
        throw new RangeError(
          `Cannot import optimizer state as slot ${i} of '${name}' has ${slot.values.length} ` +
            `values for shape [${slot.shape}] (${size} expected)`,
        );
      }
      return tf.tidy(() =>
        tf.variable(
          tf.tensor(slot.values.slice(), slot.shape.slice()),
          false,
          `${name}/slot${i}_${_uid()}`,
        )
      );
    });
  }
  return { step: data.step, slots, ...(data.steps ? { steps: { ...data.steps } } : {}) };
}

let _counter = 0;
function _uid(): number {
  return ++_counter;
}
