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

Deno.test("prepareCallbacks() refuses keys that are not hooks or fields, suggesting the closest", () => {
  assertThrows(
    () => prepareCallbacks([{ name: "x", onBatchEnds: () => {} } as Callback]),
    TypeError,
    "Cannot use callback 'x' as 'onBatchEnds' is not a hook or field of a callback: did you mean 'onBatchEnd'?",
  );
  assertThrows(
    () => prepareCallbacks([{ name: "x", setHypers: {} } as unknown as Callback]),
    TypeError,
    "did you mean 'setsHypers'?",
  );
  assertThrows(
    () => prepareCallbacks([{ name: "x", setsHypers: { onBatchBegins: ["lr"] } } as Callback]),
    TypeError,
    "'setsHypers' names 'onBatchBegins', which is not an event: did you mean 'onBatchBegin'?",
  );
  assertThrows(
    () => prepareCallbacks([{ name: "x", monitors: "validLoss" } as unknown as Callback]),
    TypeError,
    "'monitors' must be an array of names",
  );
});

Deno.test("prepareCallbacks() with a fit's facts checks monitors and scheduled hyper-parameters", () => {
  const facts = {
    hasValid: false,
    metricNames: ["validLoss", "accuracy"],
    optimizer: "sgd",
    hyperNames: ["lr", "mom", "sqrMom", "eps", "wd"],
  };
  const watch = (name: string, extra: Partial<Callback> = {}): Callback => ({
    name: `watch-${name}`,
    monitors: [name],
    ...extra,
  });
  assertThrows(() => prepareCallbacks([watch("accuracy")], facts), TypeError, "has none");
  assertThrows(
    () => prepareCallbacks([watch("acuracy")], { ...facts, hasValid: true }),
    RangeError,
    "did you mean 'accuracy'? Metrics are trainLoss, validLoss, accuracy",
  );
  // trainLoss needs no validation data; a metric a callback adds is known once declared
  prepareCallbacks([watch("trainLoss")], facts);
  prepareCallbacks([watch("f1"), { name: "adds", addsMetrics: ["f1"] }], facts);
  assertThrows(
    () => prepareCallbacks([{ name: "s", setsHypers: { onBatchBegin: ["beta1"] } }], facts),
    TypeError,
    "sets hyper-parameter 'beta1', which the optimizer (sgd) does not read and no callback owns",
  );
  const set = prepareCallbacks([
    { name: "s", setsHypers: { onBatchBegin: ["beta"] } },
    { name: "o", ownsHypers: ["beta"] },
  ], facts);
  assertEquals([...set.hyperNames!].sort(), ["beta", "eps", "lr", "mom", "sqrMom", "wd"]);
  assertEquals(prepareCallbacks([]).hyperNames, undefined);
});

Deno.test("applyUpdate() freezes what it builds and checks hyper-parameter values and names", () => {
  const s = frozenState();
  const next = applyUpdate(s, { hypers: [{ ...H, lr: 0.2 }], memory: { a: { b: [1] } } }, {
    name: "cb",
  }, "onBatchBegin");
  assertEquals(
    [
      next,
      next.hypers,
      next.hypers[0],
      next.memory,
      next.memory.cb,
      (next.memory.cb as {
        a: { b: number[] };
      }).a.b,
    ].every(Object.isFrozen),
    true,
  );
  const set = (h: Record<string, number>, names?: Set<string>) =>
    applyUpdate(s, { hypers: [h as typeof H] }, { name: "cb" }, "onBatchBegin", names);
  assertThrows(
    () => set({ ...H, lr: Infinity }),
    RangeError,
    "'hypers[0].lr' must be a finite number",
  );
  assertThrows(() => set({ ...H, wd: -0.1 }), RangeError, "'hypers[0].wd' must be >= 0");
  assertThrows(
    () => set({ ...H, mom: NaN }),
    RangeError,
    "'hypers[0].mom' must be a finite number",
  );
  assertThrows(
    () => set({ ...H, lrr: 1 }, new Set(Object.keys(H))),
    TypeError,
    "'hypers[0].lrr' is not a hyper-parameter the optimizer reads or a callback owns: did you mean 'lr'?",
  );
  // without names (a bare prepareCallbacks), any numeric key is fine
  assertEquals(set({ ...H, beta: 1 }).hypers[0]!.beta, 1);
  assertThrows(() => set({ lr: 1 }), TypeError, "'hypers[0]' lacks 'mom'");
});
