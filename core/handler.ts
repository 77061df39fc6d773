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
  CALLBACK_FIELDS,
  type EventName,
  EVENTS,
  type FitContext,
  type Hook,
  type HookResult,
  SETTABLE,
  type StateUpdate,
} from "./callback.ts";
import type { Hypers, TrainState } from "./state.ts";
import { freezePlain } from "./_freeze.ts";
import { closest, show, suggest } from "./_options.ts";

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
  /**
   * The hyper-parameter names hooks may set (the optimizer's and those callbacks own), when
   * the set was prepared for a fit; undefined: any name.
   */
  readonly hyperNames: ReadonlySet<string> | undefined;
}

/** What a fit offers its callbacks, checked against their declarations by {@linkcode prepareCallbacks}. */
export interface FitFacts {
  /** Whether the fit has validation data. */
  readonly hasValid: boolean;
  /** The metrics computed on validation data, `"validLoss"` first. */
  readonly metricNames: readonly string[];
  /** The optimizer's name, for messages. */
  readonly optimizer: string;
  /** The hyper-parameters the optimizer reads (`lr`, `wd` and its defaults' keys). */
  readonly hyperNames: readonly string[];
}

/**
 * Sorts callbacks by `order` (stable) and indexes their hooks by event; given the fit's
 * facts, also checks what the callbacks declare against them (before any batch runs).
 *
 * @param callbacks The callbacks of a fit.
 * @param facts What the fit offers (validation data, metrics, hyper-parameters). @default {undefined: declarations are not checked}
 * @returns The prepared set.
 * @throws {TypeError} If a callback has no string name, two share a name, a key is not a
 * callback field (a misspelled hook: the message suggests the closest), a hook is not a
 * function, two callbacks declare (`setsHypers`) the same hyper-parameter in the same
 * event, a callback schedules a hyper-parameter the optimizer does not read and no callback
 * owns, or one monitors a validation metric in a fit without validation data.
 * @throws {RangeError} If a callback monitors a metric the fit does not compute.
 *
 * @example Order decides who runs first
 * ```ts
 * import { prepareCallbacks } from "@fitloop/fitloop/core";
 * import { assertEquals, assertThrows } from "@std/assert";
 * const set = prepareCallbacks([{ name: "b", order: 1 }, { name: "a", order: -1 }]);
 * assertEquals(set.callbacks.map((c) => c.name), ["a", "b"]);
 * const typo = { name: "t", onEpochEnds: () => {} };
 * assertThrows(() => prepareCallbacks([typo]), TypeError, "did you mean 'onEpochEnd'?");
 * ```
 */
export function prepareCallbacks(
  callbacks: readonly Callback[],
  facts?: FitFacts,
): CallbackSet {
  if (!Array.isArray(callbacks)) {
    throw new TypeError(
      `Cannot use callbacks as they must be an array of callback records: current value is ${
        show(callbacks)
      }`,
    );
  }
  const seen = new Set<string>();
  for (const cb of callbacks) {
    if (cb === null || typeof cb !== "object" || typeof cb.name !== "string" || !cb.name) {
      throw new TypeError(
        `Cannot use callback as 'name' must be a non-empty string: current value is ${
          cb === null || typeof cb !== "object" ? show(cb) : show(cb.name)
        }${
          typeof cb === "function" ? " (call the factory: earlyStopping(), not earlyStopping)" : ""
        }`,
      );
    }
    if (seen.has(cb.name)) {
      throw new TypeError(
        `Cannot fit with two callbacks named '${cb.name}': callback names must be unique in a fit`,
      );
    }
    seen.add(cb.name);
    _checkFields(cb);
  }
  _checkConflicts(callbacks);
  const hyperNames = facts ? _checkDeclarations(callbacks, facts) : undefined;
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
  return {
    callbacks: sorted,
    hooks,
    needsLoss: sorted.some((c) => c.needsLoss === true),
    hyperNames,
  };
}

const LISTS = ["ownsHypers", "monitors", "addsMetrics"] as const;

function _checkFields(cb: Callback): void {
  for (const key of Object.keys(cb)) {
    if (CALLBACK_FIELDS.includes(key)) continue;
    const near = closest(key, CALLBACK_FIELDS);
    throw new TypeError(
      `Cannot use callback '${cb.name}' as '${key}' is not a hook or field of a callback${
        near ? `: did you mean '${near}'?` : "."
      } Hooks are ${EVENTS.join(", ")}; fields are ${
        CALLBACK_FIELDS.filter((f) => !f.startsWith("on")).join(", ")
      }`,
    );
  }
  if (cb.order !== undefined && !Number.isFinite(cb.order)) {
    throw new TypeError(
      `Cannot use callback '${cb.name}' as 'order' must be a finite number: current value is ${
        show(cb.order)
      }`,
    );
  }
  for (const key of LISTS) {
    const list = cb[key];
    if (list !== undefined && !(Array.isArray(list) && list.every((v) => typeof v === "string"))) {
      throw new TypeError(
        `Cannot use callback '${cb.name}' as '${key}' must be an array of names: current value is ${
          show(list)
        }`,
      );
    }
  }
  for (const [event, keys] of Object.entries(cb.setsHypers ?? {})) {
    if (keys === undefined) continue; // an event left undefined sets nothing
    if (!(EVENTS as readonly string[]).includes(event)) {
      throw new TypeError(
        `Cannot use callback '${cb.name}' as 'setsHypers' names '${event}', which is not an ` +
          `event${suggest(event, EVENTS, "events")}`,
      );
    }
    if (!(Array.isArray(keys) && keys.every((k) => typeof k === "string"))) {
      throw new TypeError(
        `Cannot use callback '${cb.name}' as 'setsHypers.${event}' must be an array of ` +
          `hyper-parameter names: current value is ${show(keys)}`,
      );
    }
  }
}

/** Checks monitors and scheduled hyper-parameters; returns the names hooks may set. */
function _checkDeclarations(callbacks: readonly Callback[], facts: FitFacts): Set<string> {
  const hyperNames = new Set(facts.hyperNames);
  for (const cb of callbacks) for (const k of cb.ownsHypers ?? []) hyperNames.add(k);
  for (const cb of callbacks) {
    for (const keys of Object.values(cb.setsHypers ?? {})) {
      for (const key of keys ?? []) {
        if (hyperNames.has(key)) continue;
        throw new TypeError(
          `Cannot fit as callback '${cb.name}' sets hyper-parameter '${key}', which the ` +
            `optimizer (${facts.optimizer}) does not read and no callback owns${
              suggest(key, hyperNames, "known names")
            }`,
        );
      }
    }
  }
  const added = new Set<string>();
  for (const cb of callbacks) for (const m of cb.addsMetrics ?? []) added.add(m);
  const known = ["trainLoss", ...facts.metricNames, ...added];
  for (const cb of callbacks) {
    for (const name of cb.monitors ?? []) {
      if (!known.includes(name)) {
        throw new RangeError(
          `Cannot fit as callback '${cb.name}' monitors '${name}', which is not a metric of ` +
            `this fit${suggest(name, known, "metrics")}`,
        );
      }
      if (!facts.hasValid && facts.metricNames.includes(name) && !added.has(name)) {
        throw new TypeError(
          `Cannot fit as callback '${cb.name}' monitors '${name}', which is computed on ` +
            `validation data, and this fit has none: give the learner's data a 'valid' ` +
            `source, or monitor 'trainLoss'`,
        );
      }
    }
  }
  return hyperNames;
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
 * @throws {TypeError} If a hook returns a non-object or sets a field its event may not set,
 * or assigns to the frozen state (naming the callback and the event). Other errors thrown
 * by hooks propagate unchanged.
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
    const result = _call(bound, state, ctx, event);
    if (result === undefined) continue;
    if (_isThenable(result)) return _finishAsync(state, event, set, i, result, ctx, observe);
    const next = applyUpdate(state, result, bound.callback, event, set.hyperNames);
    observe?.(state, next);
    state = next;
  }
  return state;
}

/** Runs one hook; an error it throws is marked with the callback and the event. */
function _call(
  bound: BoundHook,
  state: TrainState,
  ctx: FitContext,
  event: EventName,
): HookResult {
  try {
    return bound.hook(state, ctx);
  } catch (e) {
    throw _blame(e, bound.callback, event);
  }
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
    const result = _call(bound, state, ctx, event);
    if (result === undefined) continue;
    if (_isThenable(result)) {
      // Do not leave the rejection unhandled: the TypeError below is what the caller sees.
      (result as Promise<unknown>).then(undefined, () => {});
      throw new TypeError(
        `Callback '${bound.callback.name}' returned a promise from ${event} during training: ` +
          `this hook runs inside the gradient recording and must be synchronous`,
      );
    }
    state = applyUpdate(state, result, bound.callback, event, set.hyperNames);
  }
  return state;
}

async function _finishAsync(
  state: TrainState,
  event: EventName,
  set: CallbackSet,
  from: number,
  pending: PromiseLike<StateUpdate | void>,
  ctx: FitContext,
  observe: UpdateObserver | undefined,
): Promise<TrainState> {
  const names = set.hyperNames;
  const hooks = set.hooks[event];
  let first;
  try {
    first = await pending;
  } catch (e) {
    throw _blame(e, set.hooks[event][from]!.callback, event);
  }
  if (first !== undefined) {
    const next = applyUpdate(state, first, hooks[from]!.callback, event, names);
    observe?.(state, next);
    state = next;
  }
  for (let i = from + 1; i < hooks.length; i++) {
    const bound = hooks[i]!;
    let result;
    try {
      result = await bound.hook(state, ctx);
    } catch (e) {
      throw _blame(e, bound.callback, event);
    }
    if (result === undefined) continue;
    const next = applyUpdate(state, result, bound.callback, event, names);
    observe?.(state, next);
    state = next;
  }
  return state;
}

const FROZEN_WRITE = /read.only property|not extensible|Cannot add property|Cannot delete property/;

/**
 * A hook's error, unchanged, unless it is the TypeError of an assignment to something
 * frozen: then the same TypeError type, naming the callback and the event and saying what
 * to do instead (the original as its cause).
 */
function _blame(error: unknown, callback: Callback, event: EventName): unknown {
  if (!(error instanceof TypeError) || !FROZEN_WRITE.test(error.message)) return error;
  return new TypeError(
    `Callback '${callback.name}' assigned to a frozen value in ${event} (${error.message}): ` +
      `the state and the records in it are frozen; a hook returns an update instead ` +
      `({ hypers }, { memory }, …)`,
    { cause: error },
  );
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
 * field it holds. The new state is frozen, and so are the records the update brings in
 * (hyper-parameters, metrics, the callback's memory as far as it is plain objects and
 * arrays): a hook that mutates what it was given throws a TypeError.
 *
 * @param state The state; not modified.
 * @param update What the hook returned.
 * @param callback The callback that returned it (for its memory and for errors).
 * @param event The event it returned it from.
 * @param hyperNames The hyper-parameter names hooks may set. @default {undefined: any name}
 * @returns The new, frozen state.
 * @throws {TypeError} If the update is not an object, holds a field the event may not
 * set, a field of the wrong kind, or a hyper-parameter outside `hyperNames`.
 * @throws {RangeError} If `hypers` or `lastMetrics`/`metricNames` have the wrong length, or a
 * hyper-parameter is not finite (or a negative `lr` or `wd`).
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
  hyperNames?: ReadonlySet<string>,
): TrainState {
  if (update === null || typeof update !== "object" || Array.isArray(update)) {
    throw new TypeError(
      `Callback '${callback.name}' returned ${
        Array.isArray(update) ? "an array" : show(update)
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
      next.memory = Object.freeze({ ...state.memory, [callback.name]: freezePlain(value) });
      continue;
    }
    if (BOOLEAN_KEYS.has(key) && typeof value !== "boolean") {
      throw new TypeError(
        `Callback '${callback.name}' set '${key}' in ${event} to ${show(value)}: ` +
          `expected a boolean`,
      );
    }
    if (key === "hypers") {
      next.hypers = _checkHypers(state, value, callback, event, hyperNames);
      continue;
    }
    if (key === "lastMetrics" || key === "metricNames") {
      next[key] = Array.isArray(value) ? Object.freeze(value.slice()) : value;
      continue;
    }
    next[key] = value;
  }
  if ("lastMetrics" in update || "metricNames" in update) {
    const values = next.lastMetrics as readonly number[];
    const names = next.metricNames as readonly string[];
    if (!Array.isArray(values) || !Array.isArray(names) || values.length !== names.length) {
      throw new RangeError(
        `Callback '${callback.name}' left 'lastMetrics' (length ${values?.length}) and ` +
          `'metricNames' (length ${names?.length}) of different lengths in ${event}`,
      );
    }
  }
  return Object.freeze(next) as unknown as TrainState;
}

function _checkHypers(
  state: TrainState,
  value: unknown,
  callback: Callback,
  event: EventName,
  names: ReadonlySet<string> | undefined,
): readonly Hypers[] {
  if (!Array.isArray(value)) {
    throw new TypeError(
      `Callback '${callback.name}' set 'hypers' in ${event} to ${show(value)}: expected an ` +
        `array with one record per layer group`,
    );
  }
  if (value.length !== state.hypers.length) {
    throw new RangeError(
      `Callback '${callback.name}' set 'hypers' in ${event} with ${value.length} layer ` +
        `groups: expected ${state.hypers.length}`,
    );
  }
  if (value === state.hypers) return value;
  for (let i = 0; i < value.length; i++) {
    const h = value[i] as Hypers;
    const before = state.hypers[i]!;
    if (h === before) continue;
    if (h === null || typeof h !== "object") {
      _badHypers(callback, event, `'hypers[${i}]' is ${show(h)}, expected a record of numbers`);
    }
    let count = 0;
    for (const key in h) {
      count++;
      const v = h[key];
      if (typeof v !== "number" || !Number.isFinite(v)) {
        _badHypers(
          callback,
          event,
          `'hypers[${i}].${key}' must be a finite number: current value is ${show(v)}`,
          RangeError,
        );
      }
      if (names !== undefined && !names.has(key)) {
        _badHypers(
          callback,
          event,
          `'hypers[${i}].${key}' is not a hyper-parameter the optimizer reads or a callback ` +
            `owns${suggest(key, names, "known names")}`,
        );
      }
    }
    if (h.lr < 0 || h.wd < 0) {
      const key = h.lr < 0 ? "lr" : "wd";
      _badHypers(
        callback,
        event,
        `'hypers[${i}].${key}' must be >= 0: current value is ${h[key]}`,
        RangeError,
      );
    }
    if (count < _keyCount(before)) {
      const missing = Object.keys(before).find((k) => !(k in h));
      if (missing !== undefined) {
        _badHypers(
          callback,
          event,
          `'hypers[${i}]' lacks '${missing}': return every hyper-parameter of a group ` +
            `({ ...h, lr } keeps the others)`,
        );
      }
    }
    Object.freeze(h);
  }
  return Object.freeze(value);
}

const KEY_COUNTS = new WeakMap<object, number>();

/** The number of keys of a hypers record (frozen, so counted once). */
function _keyCount(h: Hypers): number {
  let n = KEY_COUNTS.get(h);
  if (n === undefined) {
    n = Object.keys(h).length;
    KEY_COUNTS.set(h, n);
  }
  return n;
}

function _badHypers(
  callback: Callback,
  event: EventName,
  why: string,
  Kind: ErrorConstructor = TypeError,
): never {
  throw new Kind(`Callback '${callback.name}' set 'hypers' in ${event}: ${why}`);
}
