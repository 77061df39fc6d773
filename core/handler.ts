/**
 * The callback handler: a pure function from (state, event, callbacks) to the next
 * state. It runs each callback's hook for the event in `order`, validates what the hook
 * returns against what the event may set, and folds the updates into a new state; each
 * hook sees the updates of those before it. It mutates nothing it is given and imports
 * no tfjs. Synchronous hooks cost no microtask: the result is a promise only once a hook
 * returns one.
 *
 * @module
 */
import {
  type Callback,
  type EventName,
  EVENTS,
  type FitContext,
  type Hook,
  SETTABLE,
  type StateUpdate,
} from "./callback.ts";
import type { TrainState } from "./state.ts";

/** One hook ready to run: the function and the callback it belongs to. */
export interface BoundHook {
  /** The callback (for its name in errors and its memory). */
  readonly callback: Callback;
  /** The hook function. */
  readonly hook: Hook;
}

/** Callbacks sorted and indexed by event, ready for {@linkcode handle}. */
export interface CallbackSet {
  /** The callbacks, sorted by `order` (stable). */
  readonly callbacks: readonly Callback[];
  /** For each event, the hooks to run, in order. */
  readonly hooks: Readonly<Record<EventName, readonly BoundHook[]>>;
  /** Whether any callback asked for per-batch loss reads (`needsLoss`). */
  readonly needsLoss: boolean;
}

/**
 * Sorts callbacks by `order` (stable) and indexes their hooks by event.
 *
 * @param callbacks The callbacks of a fit.
 * @returns The prepared set.
 * @throws {TypeError} If a callback has no string name, two share a name, a hook is not
 * a function, or two callbacks declare (`setsHypers`) the same hyper-parameter in the
 * same event.
 *
 * @example Order decides who runs first
 * ```ts
 * import { prepareCallbacks } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * const set = prepareCallbacks([{ name: "b", order: 1 }, { name: "a", order: -1 }]);
 * assertEquals(set.callbacks.map((c) => c.name), ["a", "b"]);
 * ```
 */
export function prepareCallbacks(callbacks: readonly Callback[]): CallbackSet {
  const seen = new Set<string>();
  for (const cb of callbacks) {
    if (cb === null || typeof cb !== "object" || typeof cb.name !== "string" || !cb.name) {
      throw new TypeError(
        `Cannot use callback as 'name' must be a non-empty string: current value is ${
          cb === null || typeof cb !== "object" ? String(cb) : String(cb.name)
        }`,
      );
    }
    if (seen.has(cb.name)) {
      throw new TypeError(
        `Cannot fit with two callbacks named '${cb.name}': callback names must be unique in a fit`,
      );
    }
    seen.add(cb.name);
  }
  _checkConflicts(callbacks);
  const sorted = callbacks
    .map((cb, i) => ({ cb, i }))
    .sort((a, b) => (a.cb.order ?? 0) - (b.cb.order ?? 0) || a.i - b.i)
    .map(({ cb }) => cb);
  const hooks = {} as Record<EventName, BoundHook[]>;
  for (const event of EVENTS) {
    hooks[event] = [];
    for (const callback of sorted) {
      const hook = callback[event];
      if (hook === undefined) continue;
      if (typeof hook !== "function") {
        throw new TypeError(
          `Cannot use callback '${callback.name}' as '${event}' must be a function: ` +
            `current type is ${typeof hook}`,
        );
      }
      hooks[event].push({ callback, hook });
    }
  }
  return { callbacks: sorted, hooks, needsLoss: sorted.some((c) => c.needsLoss === true) };
}

function _checkConflicts(callbacks: readonly Callback[]): void {
  const owner = new Map<string, string>();
  for (const cb of callbacks) {
    for (const [event, keys] of Object.entries(cb.setsHypers ?? {})) {
      for (const key of keys ?? []) {
        const slot = `${event}/${key}`;
        const other = owner.get(slot);
        if (other !== undefined && other !== cb.name) {
          throw new TypeError(
            `Callbacks '${other}' and '${cb.name}' both set '${key}' in ${event}: only one ` +
              `callback may schedule a hyper-parameter in an event`,
          );
        }
        owner.set(slot, cb.name);
      }
    }
  }
}

function _isThenable(value: unknown): value is PromiseLike<StateUpdate | void> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

/**
 * Runs the hooks of `event` over `state` and returns the resulting state (a promise only
 * if some hook returned one).
 *
 * @param state The state before the event; not modified.
 * @param event The event.
 * @param set The prepared callbacks.
 * @param ctx Passed to every hook as its second argument.
 * @param observe Called after each applied update with the states before and after it.
 * @returns The state after every hook's update.
 * @throws {TypeError} If a hook returns a non-object or sets a field its event may not set.
 * Errors thrown by hooks propagate unchanged.
 *
 * @example A hook that schedules the learning rate
 * ```ts
 * import { handle, initialState, prepareCallbacks } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * const set = prepareCallbacks([{
 *   name: "halve",
 *   onBatchBegin: (s) => ({ hypers: s.hypers.map((h) => ({ ...h, lr: h.lr / 2 })) }),
 * }]);
 * const before = Object.freeze(initialState({
 *   nEpochs: 1,
 *   hypers: [{ lr: 1, mom: 0, sqrMom: 0, eps: 0, wd: 0 }],
 *   loss: () => { throw new Error("unused"); },
 * }));
 * const after = handle(before, "onBatchBegin", set, {});
 * assertEquals(after instanceof Promise, false);
 * assertEquals((after as typeof before).hypers[0]!.lr, 0.5);
 * assertEquals(before.hypers[0]!.lr, 1);
 * ```
 */
export function handle(
  state: TrainState,
  event: EventName,
  set: CallbackSet,
  ctx: FitContext,
  observe?: UpdateObserver,
): TrainState | Promise<TrainState> {
  const hooks = set.hooks[event];
  for (let i = 0; i < hooks.length; i++) {
    const bound = hooks[i]!;
    const result = bound.hook(state, ctx);
    if (result === undefined) continue;
    if (_isThenable(result)) return _finishAsync(state, event, hooks, i, result, ctx, observe);
    const next = applyUpdate(state, result, bound.callback, event);
    observe?.(state, next);
    state = next;
  }
  return state;
}

/**
 * Called after each applied update with the states before and after it (the fit loop
 * uses it to take ownership of tensors a hook puts in the state, even when a later hook
 * of the same event replaces them).
 */
export type UpdateObserver = (before: TrainState, after: TrainState) => void;

/**
 * Like {@linkcode handle}, for events that must complete synchronously (during training,
 * onLossBegin and onBackwardBegin run inside tfjs's gradient recording).
 *
 * @param state The state before the event; not modified.
 * @param event The event.
 * @param set The prepared callbacks.
 * @param ctx Passed to every hook.
 * @returns The state after every hook's update.
 * @throws {TypeError} If a hook returns a promise, naming the callback and the event.
 *
 * @example Synchronous hooks only
 * ```ts
 * import { handleSync, initialState, prepareCallbacks } from "@fitloop/fitloop/core";
 * import { assertThrows } from "@std/assert";
 * const set = prepareCallbacks([{ name: "slow", onLossBegin: async () => {} }]);
 * const s = initialState({ nEpochs: 1, hypers: [], loss: () => { throw new Error(); } });
 * assertThrows(() => handleSync(s, "onLossBegin", set, {}), TypeError, "'slow'");
 * ```
 */
export function handleSync(
  state: TrainState,
  event: EventName,
  set: CallbackSet,
  ctx: FitContext,
): TrainState {
  const hooks = set.hooks[event];
  for (let i = 0; i < hooks.length; i++) {
    const bound = hooks[i]!;
    const result = bound.hook(state, ctx);
    if (result === undefined) continue;
    if (_isThenable(result)) {
      // Do not leave the rejection unhandled: the TypeError below is what the caller sees.
      (result as Promise<unknown>).then(undefined, () => {});
      throw new TypeError(
        `Callback '${bound.callback.name}' returned a promise from ${event} during training: ` +
          `this hook runs inside the gradient recording and must be synchronous`,
      );
    }
    state = applyUpdate(state, result, bound.callback, event);
  }
  return state;
}

async function _finishAsync(
  state: TrainState,
  event: EventName,
  hooks: readonly BoundHook[],
  from: number,
  pending: PromiseLike<StateUpdate | void>,
  ctx: FitContext,
  observe: UpdateObserver | undefined,
): Promise<TrainState> {
  const first = await pending;
  if (first !== undefined) {
    const next = applyUpdate(state, first, hooks[from]!.callback, event);
    observe?.(state, next);
    state = next;
  }
  for (let i = from + 1; i < hooks.length; i++) {
    const bound = hooks[i]!;
    const result = await bound.hook(state, ctx);
    if (result === undefined) continue;
    const next = applyUpdate(state, result, bound.callback, event);
    observe?.(state, next);
    state = next;
  }
  return state;
}

const BOOLEAN_KEYS = new Set([
  "skipValidate",
  "skipBackward",
  "skipStep",
  "skipZero",
  "stopEpoch",
  "stopTraining",
]);

/**
 * Folds one hook's update into the state, after checking that `event` may set every
 * field it holds.
 *
 * @param state The state; not modified.
 * @param update What the hook returned.
 * @param callback The callback that returned it (for its memory and for errors).
 * @param event The event it returned it from.
 * @returns The new state.
 * @throws {TypeError} If the update is not an object, holds a field the event may not
 * set, or a field of the wrong kind.
 * @throws {RangeError} If `hypers` or `lastMetrics`/`metricNames` have the wrong length.
 *
 * @example Stopping from onBatchEnd
 * ```ts
 * import { applyUpdate, initialState } from "@fitloop/fitloop/core";
 * import { assertEquals, assertThrows } from "@std/assert";
 * const s = initialState({ nEpochs: 1, hypers: [], loss: () => { throw new Error(); } });
 * assertEquals(applyUpdate(s, { stopEpoch: true }, { name: "x" }, "onBatchEnd").stopEpoch, true);
 * assertThrows(() => applyUpdate(s, { stopEpoch: true }, { name: "x" }, "onEpochEnd"), TypeError);
 * ```
 */
export function applyUpdate(
  state: TrainState,
  update: StateUpdate,
  callback: Callback,
  event: EventName,
): TrainState {
  if (update === null || typeof update !== "object" || Array.isArray(update)) {
    throw new TypeError(
      `Callback '${callback.name}' returned ${
        Array.isArray(update) ? "an array" : String(update)
      } from ${event}: a hook returns an update object or nothing`,
    );
  }
  const allowed = SETTABLE[event];
  const next: Record<string, unknown> = { ...state };
  for (const key in update) {
    const value = (update as Record<string, unknown>)[key];
    if (value === undefined) continue;
    if (!allowed.has(key as keyof StateUpdate)) {
      throw new TypeError(
        `Callback '${callback.name}' set '${key}' in ${event}, which may not set it ` +
          `(${event} may set: ${[...allowed].join(", ")})`,
      );
    }
    if (key === "memory") {
      next.memory = { ...state.memory, [callback.name]: value };
      continue;
    }
    if (BOOLEAN_KEYS.has(key) && typeof value !== "boolean") {
      throw new TypeError(
        `Callback '${callback.name}' set '${key}' in ${event} to ${String(value)}: ` +
          `expected a boolean`,
      );
    }
    if (key === "hypers") _checkHypers(state, value, callback, event);
    next[key] = value;
  }
  if ("lastMetrics" in update || "metricNames" in update) {
    const values = next.lastMetrics as readonly number[];
    const names = next.metricNames as readonly string[];
    if (values.length !== names.length) {
      throw new RangeError(
        `Callback '${callback.name}' left 'lastMetrics' (length ${values.length}) and ` +
          `'metricNames' (length ${names.length}) of different lengths in ${event}`,
      );
    }
  }
  return next as unknown as TrainState;
}

function _checkHypers(
  state: TrainState,
  value: unknown,
  callback: Callback,
  event: EventName,
): void {
  if (!Array.isArray(value)) {
    throw new TypeError(
      `Callback '${callback.name}' set 'hypers' in ${event} to ${String(value)}: ` +
        `expected an array with one record per layer group`,
    );
  }
  if (value.length !== state.hypers.length) {
    throw new RangeError(
      `Callback '${callback.name}' set 'hypers' in ${event} with ${value.length} layer ` +
        `groups: expected ${state.hypers.length}`,
    );
  }
}
