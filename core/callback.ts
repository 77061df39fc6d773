/**
 * Callbacks are plain records of optional hook functions. A hook reads the training
 * state and returns nothing or an update: a partial record of the fields its event may
 * set (see {@linkcode SETTABLE}). Hooks never mutate the state.
 *
 * @module
 */
import type { LearnerCore } from "./learner_core.ts";
import type { Hypers } from "../optim/hypers.ts";
import type { TrainState } from "./state.ts";
import type { Grads, Input, LossFn, Tensor } from "./types.ts";

/** The events of a fit, in the order they fire (see the README for the full sequence). */
export type EventName =
  | "onTrainBegin"
  | "onEpochBegin"
  | "onBatchBegin"
  | "onLossBegin"
  | "onBackwardBegin"
  | "onBackwardEnd"
  | "onStepEnd"
  | "onBatchEnd"
  | "onEpochEnd"
  | "onTrainEnd";

/**
 * Every event name, in firing order.
 *
 * @example
 * ```ts
 * import { EVENTS } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * assertEquals([EVENTS[0], EVENTS.at(-1)], ["onTrainBegin", "onTrainEnd"]);
 * ```
 */
export const EVENTS: readonly EventName[] = Object.freeze([
  "onTrainBegin",
  "onEpochBegin",
  "onBatchBegin",
  "onLossBegin",
  "onBackwardBegin",
  "onBackwardEnd",
  "onStepEnd",
  "onBatchEnd",
  "onEpochEnd",
  "onTrainEnd",
]);

/**
 * What a hook may return. Which fields an event accepts is in {@linkcode SETTABLE};
 * `memory` replaces the calling callback's own memory (`state.memory[name]`).
 * Tensors given in an update are handed to the loop, which disposes them with the batch.
 */
export interface StateUpdate {
  /** Hyper-parameters, one record per layer group (any event). */
  readonly hypers?: readonly Hypers[];
  /** This callback's new memory (any event). */
  readonly memory?: unknown;
  /** Skip validation for the rest of the fit (any event). */
  readonly skipValidate?: boolean;
  /** The loss function (onTrainBegin, onEpochBegin, onBatchBegin, onTrainEnd). */
  readonly loss?: LossFn;
  /** Replacement input (onBatchBegin). */
  readonly lastInput?: Input;
  /** Replacement target (onBatchBegin). */
  readonly lastTarget?: Tensor;
  /** Replacement output (onLossBegin). */
  readonly lastOutput?: Tensor;
  /** Replacement loss (onBackwardBegin); must be computed from the state's tensors. */
  readonly lastLoss?: Tensor;
  /** Compute no gradients for this batch (onBackwardBegin). */
  readonly skipBackward?: boolean;
  /** Replacement gradients (onBackwardEnd). */
  readonly grads?: Grads;
  /** Skip the optimizer step (onBackwardEnd). */
  readonly skipStep?: boolean;
  /** Keep the gradients for the next batch (onStepEnd). */
  readonly skipZero?: boolean;
  /** End the epoch's batch loop (onBatchEnd). */
  readonly stopEpoch?: boolean;
  /** End training after this epoch (onBatchEnd, onEpochEnd). */
  readonly stopTraining?: boolean;
  /** Validation loss and metrics, extended with this callback's (onEpochEnd). */
  readonly lastMetrics?: readonly number[];
  /** Names for `lastMetrics`, same length (onEpochEnd). */
  readonly metricNames?: readonly string[];
}

/** The keys of {@linkcode StateUpdate}. */
export type UpdateKey = keyof StateUpdate;

/** What a hook returns: an update, nothing, or a promise of either. */
export type HookResult = StateUpdate | void | Promise<StateUpdate | void>;

/**
 * A hook: a function of the state (and the fit's context) to an update. `ctx` is what
 * the caller of the handler passes; in `fit` it is a {@linkcode FitContext}.
 */
export type Hook = (state: TrainState, ctx: FitContext) => HookResult;

/**
 * What `fit` passes to every hook beside the state: the learner, for the few callbacks
 * that must touch the model itself (saving weights, say). Pure callbacks ignore it.
 */
export interface FitContext {
  /**
   * The learner being trained (absent when a handler runs without a model, as in a dry
   * run or a test).
   */
  readonly learner?: LearnerCore;
  /**
   * A fresh id for each call of `fit` (a resumed fit gets a new one, though its state
   * carries on): a callback that measures time from the start of a fit, or owns a display,
   * keys it on this, since onTrainBegin does not run again on resume.
   */
  readonly fitId?: string;
}

/**
 * A callback: a name, an optional order and any of the hooks. Callbacks run sorted by
 * `order` (stable, default 0); names must be unique within a fit.
 */
export interface Callback {
  /** Unique name within a fit; also the key of the callback's memory. */
  readonly name: string;
  /** Sort key; lower runs first. @default {0} */
  readonly order?: number;
  /**
   * Set when a hook reads this batch's `smoothLoss` during training batches: the loop then
   * reads every training loss as soon as the backward pass is done (a GPU sync per batch).
   * Otherwise losses are read in groups, a few batches late. @default {false}
   */
  readonly needsLoss?: boolean;
  /**
   * The hyper-parameters this callback sets, by event (for example
   * `{ onBatchBegin: ["lr", "mom"] }`). Two callbacks declaring the same hyper-parameter
   * in the same event are reported when the fit starts, instead of the last silently
   * winning. @default {{}}
   */
  readonly setsHypers?: Readonly<Partial<Record<EventName, readonly string[]>>>;
  /**
   * Intermediate outputs this callback reads: given the learner, the names of the layers
   * (a LayersModel's layer names, or the names a hand-written model passes to `capture`)
   * whose outputs the loop keeps from each batch's forward pass in `state.lastCaptures`.
   * Asked once when the fit starts. @default {undefined}
   */
  readonly captures?: (learner: LearnerCore) => readonly string[];
  /**
   * Hyper-parameters this callback introduces and reads itself (beyond the optimizer's:
   * `lr`, `wd` and the keys of its `defaults`). Setting or scheduling any other name is an
   * error when the fit starts or when a hook returns it. @default {[]}
   */
  readonly ownsHypers?: readonly string[];
  /**
   * Metric names this callback reads from `lastMetrics` (`"validLoss"`, a learner metric,
   * `"trainLoss"` or a name a callback declares in `addsMetrics`). Checked when the fit
   * starts: an unknown name is an error, and so is a fit without validation data when a
   * name is computed on it (`validLoss` and the learner's metrics). @default {[]}
   */
  readonly monitors?: readonly string[];
  /** Metric names this callback appends to `lastMetrics` in onEpochEnd. @default {[]} */
  readonly addsMetrics?: readonly string[];
  /** Before the first epoch. */
  readonly onTrainBegin?: Hook;
  /** At the start of each epoch. */
  readonly onEpochBegin?: Hook;
  /** Before the forward pass of a batch (training or validation). */
  readonly onBatchBegin?: Hook;
  /** After the forward pass, before the loss. Synchronous during training. */
  readonly onLossBegin?: Hook;
  /** After the loss, before the backward pass. Synchronous; training only. */
  readonly onBackwardBegin?: Hook;
  /** After the backward pass, before the optimizer step; training only. */
  readonly onBackwardEnd?: Hook;
  /** After the optimizer step; training only. */
  readonly onStepEnd?: Hook;
  /** At the end of a batch (training or validation). */
  readonly onBatchEnd?: Hook;
  /** At the end of an epoch, after validation. */
  readonly onEpochEnd?: Hook;
  /** Last, always: also after an error, found in `state.error`. */
  readonly onTrainEnd?: Hook;
}

/**
 * Every field a callback record may hold: its name, order and declarations, and the hooks.
 * Any other key is refused when a fit starts (a misspelled hook would never run).
 *
 * @example
 * ```ts
 * import { CALLBACK_FIELDS } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * assertEquals(CALLBACK_FIELDS.includes("onEpochEnd"), true);
 * ```
 */
export const CALLBACK_FIELDS: readonly string[] = Object.freeze([
  "name",
  "order",
  "needsLoss",
  "setsHypers",
  "ownsHypers",
  "monitors",
  "addsMetrics",
  "captures",
  ...EVENTS,
]);

const ANY: readonly UpdateKey[] = ["hypers", "memory", "skipValidate"];

/**
 * For each event, the update fields its hooks may set.
 *
 * @example
 * ```ts
 * import { SETTABLE } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * assertEquals(SETTABLE.onBackwardEnd.has("grads"), true);
 * assertEquals(SETTABLE.onEpochEnd.has("stopEpoch"), false);
 * ```
 */
export const SETTABLE: Readonly<Record<EventName, ReadonlySet<UpdateKey>>> = Object.freeze({
  onTrainBegin: new Set<UpdateKey>([...ANY, "loss"]),
  onEpochBegin: new Set<UpdateKey>([...ANY, "loss"]),
  onBatchBegin: new Set<UpdateKey>([...ANY, "loss", "lastInput", "lastTarget"]),
  onLossBegin: new Set<UpdateKey>([...ANY, "lastOutput"]),
  onBackwardBegin: new Set<UpdateKey>([...ANY, "lastLoss", "skipBackward"]),
  onBackwardEnd: new Set<UpdateKey>([...ANY, "grads", "skipStep"]),
  onStepEnd: new Set<UpdateKey>([...ANY, "skipZero"]),
  onBatchEnd: new Set<UpdateKey>([...ANY, "stopEpoch", "stopTraining"]),
  onEpochEnd: new Set<UpdateKey>([...ANY, "stopTraining", "lastMetrics", "metricNames"]),
  onTrainEnd: new Set<UpdateKey>([...ANY, "loss"]),
});

/**
 * A callback's memory (`state.memory[name]`), or `initial` before the callback first wrote
 * it: the typed way for a hook to read what it returned earlier as `{ memory }`.
 *
 * @param state The state a hook received.
 * @param name The callback's name.
 * @param initial What to return before the first write.
 * @returns The memory.
 *
 * @example A counter kept in memory
 * ```ts
 * import { type Callback, memoryOf } from "@fitloop/fitloop";
 * import { dryRun } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * const counter: Callback = {
 *   name: "counter",
 *   onBatchEnd: (s) => s.train ? { memory: memoryOf(s, "counter", 0) + 1 } : undefined,
 * };
 * const run = await dryRun([counter], { epochs: 2, batchesPerEpoch: 3 });
 * assertEquals(run.state.memory.counter, 6);
 * ```
 */
export function memoryOf<T>(state: TrainState, name: string, initial: T): T {
  const value = state.memory[name] as T | undefined;
  return value === undefined ? initial : value;
}
