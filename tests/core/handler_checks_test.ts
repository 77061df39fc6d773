// The handler's checks, message by message: what prepareCallbacks refuses, the stable
// order, needsLoss, conflicting hyper-parameter schedules, and what applyUpdate refuses.
import { assertEquals, assertThrows } from "@std/assert";
import type { Callback } from "../../core/callback.ts";
import { applyUpdate, handleSync, prepareCallbacks } from "../../core/handler.ts";
import { initialState, type TrainState } from "../../core/state.ts";

const H = { lr: 0.1, mom: 0.9, sqrMom: 0.99, eps: 1e-7, wd: 0 };
const state = (): TrainState =>
  Object.freeze(initialState({ nEpochs: 1, hypers: [H], loss: () => 0 as never }));
const cb = { name: "x" };

Deno.test("prepareCallbacks() names the bad value of a callback that is not a named record", () => {
  const cases: [unknown, string][] = [
    [null, "current value is null"],
    [3, "current value is 3"],
    ["cb", 'current value is "cb" (a string)'],
    [undefined, "current value is undefined"],
    [{ name: 5 }, "current value is 5"],
    [{}, "current value is undefined"],
    [{ name: "" }, "current value is "],
  ];
  for (const [bad, message] of cases) {
    assertThrows(
      () => prepareCallbacks([{ name: "ok" }, bad as Callback]),
      TypeError,
      `Cannot use callback as 'name' must be a non-empty string: ${message}`,
    );
  }
  assertThrows(
    () => prepareCallbacks([{ name: "a", onBatchEnd: 3 as never }]),
    TypeError,
    "Cannot use callback 'a' as 'onBatchEnd' must be a function: current type is number",
  );
});

Deno.test("prepareCallbacks() sorts by order and keeps the given order among equals", () => {
  const names = (cbs: Callback[]) => prepareCallbacks(cbs).callbacks.map((c) => c.name);
  assertEquals(
    names([
      { name: "a", order: 1 },
      { name: "b" },
      { name: "c", order: 1 },
      { name: "d", order: 0 },
      { name: "e", order: -5 },
      { name: "f", order: 1 },
      { name: "g" },
    ]),
    ["e", "b", "d", "g", "a", "c", "f"],
  );
  const set = prepareCallbacks([
    { name: "late", order: 2, onEpochEnd: () => {} },
    { name: "early", order: -1, onEpochEnd: () => {}, onTrainEnd: () => {} },
    { name: "none" },
  ]);
  assertEquals(set.hooks.onEpochEnd.map((h) => h.callback.name), ["early", "late"]);
  assertEquals(set.hooks.onTrainEnd.map((h) => h.callback.name), ["early"]);
  assertEquals(set.hooks.onBatchBegin, []);
});

Deno.test("prepareCallbacks() asks for per-batch losses when any callback sets needsLoss: true", () => {
  const needs = (cbs: Callback[]) => prepareCallbacks(cbs).needsLoss;
  assertEquals(needs([{ name: "a" }, { name: "b", needsLoss: true }, { name: "c" }]), true);
  assertEquals(needs([{ name: "a" }, { name: "b", needsLoss: false }]), false);
  assertEquals(needs([]), false);
  assertEquals(needs([{ name: "a", needsLoss: "yes" as never }]), false);
});

Deno.test("two callbacks scheduling one hyper-parameter in one event are refused, naming both", () => {
  const lr = (name: string, event = "onBatchBegin", keys = ["lr"]): Callback => ({
    name,
    setsHypers: { [event]: keys },
  });
  assertThrows(
    () => prepareCallbacks([lr("a"), { name: "quiet" }, lr("b")]),
    TypeError,
    "Callbacks 'a' and 'b' both set 'lr' in onBatchBegin: only one callback may schedule a " +
      "hyper-parameter in an event",
  );
  assertThrows(
    () =>
      prepareCallbacks([lr("a", "onEpochEnd", ["mom", "lr"]), lr("b", "onEpochEnd", ["wd", "lr"])]),
    TypeError,
    "both set 'lr' in onEpochEnd",
  );
  // other events, other keys, or one callback naming a key twice: fine
  prepareCallbacks([lr("a"), lr("b", "onEpochBegin")]);
  prepareCallbacks([lr("a", "onBatchBegin", ["lr"]), lr("b", "onBatchBegin", ["mom"])]);
  prepareCallbacks([lr("a", "onBatchBegin", ["lr", "lr"])]);
  const none = (name: string): Callback => ({
    name,
    setsHypers: { onBatchBegin: undefined } as never,
  });
  prepareCallbacks([none("a"), lr("b")]);
  prepareCallbacks([none("a"), none("b")]);
});

Deno.test("applyUpdate() refuses what is not an update object, saying what it got", () => {
  const s = state();
  for (
    const [bad, what] of [[null, "null"], [[], "an array"], [true, "true"], [3, "3"]] as const
  ) {
    assertThrows(
      () => applyUpdate(s, bad as never, cb, "onBatchEnd"),
      TypeError,
      `Callback 'x' returned ${what} from onBatchEnd: a hook returns an update object or nothing`,
    );
  }
  const set = prepareCallbacks([{ name: "nul", onEpochEnd: () => null as never }]);
  assertThrows(() => handleSync(s, "onEpochEnd", set, {}), TypeError, "returned null");
});

Deno.test("applyUpdate() skips undefined fields, even ones the event may not set", () => {
  const s = state();
  const next = applyUpdate(
    s,
    { lastInput: undefined, stopEpoch: undefined } as never,
    cb,
    "onEpochEnd",
  );
  assertEquals(next, s);
});

Deno.test("applyUpdate() wants a boolean for every flag, naming the value", () => {
  const s = state();
  const flags = [
    ["skipValidate", "onTrainBegin"],
    ["skipBackward", "onBackwardBegin"],
    ["skipStep", "onBackwardEnd"],
    ["skipZero", "onStepEnd"],
    ["stopEpoch", "onBatchEnd"],
    ["stopTraining", "onEpochEnd"],
  ] as const;
  for (const [flag, event] of flags) {
    assertThrows(
      () => applyUpdate(s, { [flag]: 1 }, cb, event),
      TypeError,
      `Callback 'x' set '${flag}' in ${event} to 1: expected a boolean`,
    );
    assertEquals((applyUpdate(s, { [flag]: true }, cb, event) as never)[flag], true);
  }
});

Deno.test("applyUpdate() wants hypers as an array of one record per group, and matching metric lengths", () => {
  const s = state();
  assertThrows(
    () => applyUpdate(s, { hypers: 3 as never }, cb, "onBatchBegin"),
    TypeError,
    "Callback 'x' set 'hypers' in onBatchBegin to 3: expected an array with one record per layer group",
  );
  assertThrows(
    () => applyUpdate(s, { hypers: [] }, cb, "onBatchBegin"),
    RangeError,
    "Callback 'x' set 'hypers' in onBatchBegin with 0 layer groups: expected 1",
  );
  // metricNames alone, longer than lastMetrics
  assertThrows(
    () => applyUpdate(s, { metricNames: ["validLoss", "f1"] }, cb, "onEpochEnd"),
    RangeError,
    "Callback 'x' left 'lastMetrics' (length 0) and 'metricNames' (length 2) of different lengths in onEpochEnd",
  );
  const both = applyUpdate(
    s,
    { lastMetrics: [1, 2], metricNames: ["validLoss", "f1"] },
    cb,
    "onEpochEnd",
  );
  assertEquals([both.lastMetrics, both.metricNames], [[1, 2], ["validLoss", "f1"]]);
});

Deno.test("handleSync() applies synchronous updates in order and names a promise's callback and event", () => {
  const set = prepareCallbacks([
    { name: "a", onBackwardBegin: () => ({ skipBackward: true }) },
    { name: "b", onBackwardBegin: () => {} },
    { name: "c", onBackwardBegin: (s) => ({ memory: s.skipBackward }) },
  ]);
  const s = handleSync(state(), "onBackwardBegin", set, {});
  assertEquals([s.skipBackward, s.memory], [true, { c: true }]);
  const slow = prepareCallbacks([{ name: "slow", onLossBegin: () => Promise.resolve() }]);
  assertThrows(
    () => handleSync(state(), "onLossBegin", slow, {}),
    TypeError,
    "Callback 'slow' returned a promise from onLossBegin during training: this hook runs " +
      "inside the gradient recording and must be synchronous",
  );
});
