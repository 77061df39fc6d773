// The handler is pure: these tests use hand-made, frozen states and no model or tfjs.
import { assertEquals, assertInstanceOf, assertRejects, assertThrows } from "@std/assert";
import type { Callback } from "../../core/callback.ts";
import { applyUpdate, handle, handleSync, prepareCallbacks } from "../../core/handler.ts";
import { initialState, type TrainState } from "../../core/state.ts";

const H = Object.freeze({ lr: 0.1, mom: 0.9, sqrMom: 0.99, eps: 1e-7, wd: 0 });

function frozenState(): TrainState {
  const s = initialState({
    nEpochs: 1,
    hypers: Object.freeze([H]),
    loss: () => {
      throw new Error("unused");
    },
  });
  Object.freeze(s.metricNames);
  Object.freeze(s.memory);
  return Object.freeze(s);
}

Deno.test("handle() runs callbacks sorted by order, stable, each seeing the previous updates", () => {
  const seen: string[] = [];
  const cb = (name: string, order?: number): Callback => ({
    name,
    ...(order === undefined ? {} : { order }),
    onEpochBegin: (s) => {
      seen.push(`${name}:${s.hypers[0]!.lr}`);
      return { hypers: [{ ...s.hypers[0]!, lr: s.hypers[0]!.lr + 1 }] };
    },
  });
  const set = prepareCallbacks([cb("c", 5), cb("a"), cb("b"), cb("first", -1)]);
  const out = handle(frozenState(), "onEpochBegin", set, {}) as TrainState;
  assertEquals(seen, ["first:0.1", "a:1.1", "b:2.1", "c:3.1"]);
  assertEquals(out.hypers[0]!.lr, 4.1);
});

Deno.test("handle() mutates nothing it is given (frozen states pass through)", () => {
  const before = frozenState();
  const set = prepareCallbacks([{
    name: "mem",
    onEpochEnd: (s) => ({
      memory: { n: 1 },
      lastMetrics: [...s.lastMetrics, 0.5],
      metricNames: [...s.metricNames, "x"],
      stopTraining: true,
    }),
  }]);
  const after = handle({ ...before, lastMetrics: [1] }, "onEpochEnd", set, {}) as TrainState;
  assertEquals(after.memory, { mem: { n: 1 } });
  assertEquals(after.lastMetrics, [1, 0.5]);
  assertEquals(after.stopTraining, true);
  assertEquals(before.memory, {});
  assertEquals(before.stopTraining, false);
});

Deno.test("handle() returns a plain state for synchronous hooks and a promise only after an async one", async () => {
  const sync = prepareCallbacks([{ name: "s", onBatchEnd: () => ({ stopEpoch: true }) }]);
  const r1 = handle(frozenState(), "onBatchEnd", sync, {});
  assertEquals(r1 instanceof Promise, false);
  const mixed = prepareCallbacks([
    { name: "s", onBatchEnd: () => ({ memory: 1 }) },
    { name: "a", order: 1, onBatchEnd: () => Promise.resolve({ stopEpoch: true }) },
    { name: "t", order: 2, onBatchEnd: (s) => ({ memory: s.stopEpoch ? "saw stop" : "no" }) },
  ]);
  const r2 = handle(frozenState(), "onBatchEnd", mixed, {});
  assertInstanceOf(r2, Promise);
  const out = await r2;
  assertEquals(out.memory, { s: 1, t: "saw stop" });
});

Deno.test("an update with a field its event may not set names the callback, event and field", () => {
  const set = prepareCallbacks([{ name: "rogue", onEpochEnd: () => ({ stopEpoch: true }) }]);
  assertThrows(
    () => handle(frozenState(), "onEpochEnd", set, {}),
    TypeError,
    "Callback 'rogue' set 'stopEpoch' in onEpochEnd, which may not set it",
  );
  const s = frozenState();
  const cb = { name: "x" };
  assertThrows(
    () => applyUpdate(s, { lastOutput: {} as never }, cb, "onBatchBegin"),
    TypeError,
    "'lastOutput'",
  );
  assertThrows(() => applyUpdate(s, { grads: {} }, cb, "onStepEnd"), TypeError, "'grads'");
  assertThrows(() => applyUpdate(s, { lastLoss: {} as never }, cb, "onLossBegin"), TypeError);
  assertThrows(() => applyUpdate(s, { skipStep: true }, cb, "onStepEnd"), TypeError);
  assertThrows(
    () => applyUpdate(s, { bogus: 1 } as never, cb, "onTrainBegin"),
    TypeError,
    "'bogus'",
  );
});

Deno.test("each event accepts exactly its documented fields", () => {
  const s = frozenState();
  const cb = { name: "x" };
  const t = {} as never;
  applyUpdate(s, { lastInput: t, lastTarget: t }, cb, "onBatchBegin");
  applyUpdate(s, { lastOutput: t }, cb, "onLossBegin");
  applyUpdate(s, { lastLoss: t, skipBackward: true }, cb, "onBackwardBegin");
  applyUpdate(s, { grads: {}, skipStep: true }, cb, "onBackwardEnd");
  applyUpdate(s, { skipZero: true }, cb, "onStepEnd");
  applyUpdate(s, { stopEpoch: true, stopTraining: true }, cb, "onBatchEnd");
  applyUpdate(s, { stopTraining: true }, cb, "onEpochEnd");
  for (const ev of ["onTrainBegin", "onBatchBegin", "onStepEnd", "onTrainEnd"] as const) {
    assertEquals(applyUpdate(s, { skipValidate: true, hypers: [H] }, cb, ev).skipValidate, true);
  }
});

Deno.test("updates are checked for kinds and lengths", () => {
  const s = frozenState();
  const cb = { name: "x" };
  assertThrows(
    () => applyUpdate(s, true as never, cb, "onBatchEnd"),
    TypeError,
    "returned true from onBatchEnd",
  );
  assertThrows(
    () => applyUpdate(s, { stopEpoch: 1 as never }, cb, "onBatchEnd"),
    TypeError,
    "expected a boolean",
  );
  assertThrows(
    () => applyUpdate(s, { hypers: [H, H] }, cb, "onBatchBegin"),
    RangeError,
    "with 2 layer groups: expected 1",
  );
  assertThrows(
    () => applyUpdate(s, { lastMetrics: [1, 2] }, cb, "onEpochEnd"),
    RangeError,
    "'lastMetrics' (length 2) and 'metricNames' (length 1)",
  );
});

Deno.test("prepareCallbacks() rejects duplicate names and non-function hooks", () => {
  assertThrows(
    () => prepareCallbacks([{ name: "a" }, { name: "a" }]),
    TypeError,
    "two callbacks named 'a'",
  );
  assertThrows(() => prepareCallbacks([{ name: "" }]), TypeError, "'name'");
  assertThrows(
    () => prepareCallbacks([{ name: "a", onBatchEnd: 3 as never }]),
    TypeError,
    "'onBatchEnd' must be a function",
  );
  assertEquals(prepareCallbacks([{ name: "a", needsLoss: true }]).needsLoss, true);
});

Deno.test("handleSync() refuses a promise, naming the callback and event", () => {
  const set = prepareCallbacks([{ name: "slow", onBackwardBegin: () => Promise.resolve() }]);
  assertThrows(
    () => handleSync(frozenState(), "onBackwardBegin", set, {}),
    TypeError,
    "Callback 'slow' returned a promise from onBackwardBegin",
  );
});

Deno.test("errors thrown by hooks propagate unchanged", async () => {
  const boom = new Error("boom");
  const set = prepareCallbacks([{
    name: "b",
    onEpochBegin: () => {
      throw boom;
    },
  }]);
  assertEquals(assertThrows(() => handle(frozenState(), "onEpochBegin", set, {})), boom);
  const later = prepareCallbacks([
    { name: "a", onEpochBegin: () => Promise.resolve() },
    { name: "b", onEpochBegin: () => Promise.reject(boom) },
  ]);
  assertEquals(
    await assertRejects(() =>
      handle(frozenState(), "onEpochBegin", later, {}) as Promise<TrainState>
    ),
    boom,
  );
});
