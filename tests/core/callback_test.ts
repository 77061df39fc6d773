// What each event may set, checked field by field against the table written from the
// StateUpdate docs (not read from SETTABLE), the order of EVENTS, and memoryOf.
import { assertEquals, assertThrows } from "@std/assert";
import { type EventName, EVENTS, memoryOf, type UpdateKey } from "../../core/callback.ts";
import { applyUpdate } from "../../core/handler.ts";
import { initialState } from "../../core/state.ts";

const H = { lr: 0.1, mom: 0.9, sqrMom: 0.99, eps: 1e-7, wd: 0 };
const ALL: readonly EventName[] = [
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
];

/** The docs of StateUpdate, as a table: which events may set each field. */
const MAY_SET: Readonly<Record<UpdateKey, readonly EventName[]>> = {
  hypers: ALL,
  memory: ALL,
  skipValidate: ALL,
  loss: ["onTrainBegin", "onEpochBegin", "onBatchBegin", "onTrainEnd"],
  lastInput: ["onBatchBegin"],
  lastTarget: ["onBatchBegin"],
  lastOutput: ["onLossBegin"],
  lastLoss: ["onBackwardBegin"],
  skipBackward: ["onBackwardBegin"],
  grads: ["onBackwardEnd"],
  skipStep: ["onBackwardEnd"],
  skipZero: ["onStepEnd"],
  stopEpoch: ["onBatchEnd"],
  stopTraining: ["onBatchEnd", "onEpochEnd"],
  lastMetrics: ["onEpochEnd"],
  metricNames: ["onEpochEnd"],
};

const tensor = { fake: "tensor" };
const loss = () => tensor;
/** A valid value for each field (kinds and lengths that fit the state below). */
const VALUE: Readonly<Record<UpdateKey, unknown>> = {
  hypers: [{ ...H, lr: 0.5 }],
  memory: { n: 1 },
  skipValidate: true,
  loss,
  lastInput: tensor,
  lastTarget: tensor,
  lastOutput: tensor,
  lastLoss: tensor,
  skipBackward: true,
  grads: { w: tensor },
  skipStep: true,
  skipZero: true,
  stopEpoch: true,
  stopTraining: true,
  lastMetrics: [0.25],
  metricNames: ["validLoss"],
};

Deno.test("EVENTS lists the events in the order they fire", () => {
  assertEquals(EVENTS, ALL);
});

Deno.test("each event accepts exactly the fields its docs name, and refuses every other", () => {
  const s = Object.freeze({
    ...initialState({ nEpochs: 1, hypers: [H], loss: () => tensor as never }),
    lastMetrics: [1],
  });
  const cb = { name: "cb" };
  for (const [key, events] of Object.entries(MAY_SET) as [UpdateKey, EventName[]][]) {
    for (const event of ALL) {
      const update = { [key]: VALUE[key] };
      if (events.includes(event)) {
        const next = applyUpdate(s, update, cb, event);
        const got = (next as unknown as Record<string, unknown>)[key];
        assertEquals(
          key === "memory" ? next.memory : got,
          key === "memory" ? { cb: { n: 1 } } : VALUE[key],
          `${key} in ${event}`,
        );
      } else {
        assertThrows(
          () => applyUpdate(s, update, cb, event),
          TypeError,
          `Callback 'cb' set '${key}' in ${event}, which may not set it`,
        );
      }
    }
  }
});

Deno.test("the refusal lists what the event may set", () => {
  const s = initialState({ nEpochs: 1, hypers: [H], loss: () => tensor as never });
  assertThrows(
    () => applyUpdate(s, { stopEpoch: true }, { name: "x" }, "onStepEnd"),
    TypeError,
    "(onStepEnd may set: hypers, memory, skipValidate, skipZero)",
  );
});

Deno.test("memoryOf() gives a callback's memory, or the initial value when it has none", () => {
  const s = initialState({ nEpochs: 1, hypers: [H], loss: () => tensor as never });
  assertEquals(memoryOf(s, "a", { n: 0 }), { n: 0 });
  const t = { ...s, memory: { a: { n: 3 }, zero: 0, empty: "", nothing: null } };
  assertEquals(memoryOf(t, "a", { n: 0 }), { n: 3 });
  // falsy memories are memories too
  assertEquals(memoryOf(t, "zero", 7), 0);
  assertEquals(memoryOf(t, "empty", "x"), "");
  assertEquals(memoryOf(t, "nothing", 1 as number | null), null);
  assertEquals(memoryOf(t, "b", 5), 5);
});
