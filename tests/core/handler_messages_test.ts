// Every refusal of the handler, with the whole message a user reads: the argument named,
// the bad value shown, what was expected, and the near miss when there is one. Expected
// texts are written out by hand (the event and field lists included), so a message that
// loses a part, or a check that stops firing, fails here.
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import type { Callback } from "../../core/callback.ts";
import {
  applyUpdate,
  type FitFacts,
  handle,
  handleSync,
  prepareCallbacks,
} from "../../core/handler.ts";
import { initialState, type TrainState } from "../../core/state.ts";

const H = { lr: 0.1, mom: 0.9, sqrMom: 0.99, eps: 1e-7, wd: 0 };
const state = (): TrainState =>
  Object.freeze(initialState({ nEpochs: 1, hypers: [H], loss: () => 0 as never }));
const x: Callback = { name: "x" };
const facts = (over: Partial<FitFacts> = {}): FitFacts => ({
  hasValid: true,
  metricNames: ["validLoss", "accuracy"],
  optimizer: "adam",
  hyperNames: ["lr", "mom", "sqrMom", "eps", "wd"],
  ...over,
});

const HOOKS = "onTrainBegin, onEpochBegin, onBatchBegin, onLossBegin, onBackwardBegin, " +
  "onBackwardEnd, onStepEnd, onBatchEnd, onEpochEnd, onTrainEnd";

/** The message of the error `fn` throws, checking its type. */
function message(fn: () => unknown, Kind: new (...a: never[]) => Error = TypeError): string {
  return assertThrows(fn, Kind).message;
}

Deno.test("prepareCallbacks() wants an array, and says so for a string or a record", () => {
  assertEquals(
    message(() => prepareCallbacks("early" as never)),
    `Cannot use callbacks as they must be an array of callback records: current value is "early" (a string)`,
  );
  assertEquals(
    message(() => prepareCallbacks({ name: "x" } as never)),
    "Cannot use callbacks as they must be an array of callback records: current value is [object Object]",
  );
});

Deno.test("a factory passed uncalled is named as such; other bad entries are not", () => {
  function earlyStopping(): Callback {
    return { name: "earlyStopping" };
  }
  assertEquals(
    message(() => prepareCallbacks([earlyStopping as never])),
    "Cannot use callback as 'name' must be a non-empty string: current value is a function " +
      "(call the factory: earlyStopping(), not earlyStopping)",
  );
  assertEquals(
    message(() => prepareCallbacks([7 as never])),
    "Cannot use callback as 'name' must be a non-empty string: current value is 7",
  );
});

Deno.test("an unknown field lists the hooks and the fields, with a near miss or a full stop", () => {
  const fields = "name, order, needsLoss, setsHypers, ownsHypers, monitors, addsMetrics, captures";
  assertEquals(
    message(() => prepareCallbacks([{ name: "t", onEpochEnds: () => {} } as never])),
    "Cannot use callback 't' as 'onEpochEnds' is not a hook or field of a callback: did you " +
      `mean 'onEpochEnd'? Hooks are ${HOOKS}; fields are ${fields}`,
  );
  assertEquals(
    message(() => prepareCallbacks([{ name: "t", qqqqqqqqqqqq: 1 } as never])),
    "Cannot use callback 't' as 'qqqqqqqqqqqq' is not a hook or field of a callback. " +
      `Hooks are ${HOOKS}; fields are ${fields}`,
  );
  // every documented field is accepted, captures included
  const all: Callback = {
    name: "all",
    order: 1,
    needsLoss: true,
    setsHypers: { onBatchBegin: ["lr"] },
    ownsHypers: ["beta"],
    monitors: ["validLoss"],
    addsMetrics: ["mine"],
    captures: () => [],
  };
  assertEquals(prepareCallbacks([all]).callbacks, [all]);
});

Deno.test("order must be a finite number", () => {
  for (const [order, shown] of [[NaN, "NaN"], [Infinity, "Infinity"], ["1", `"1" (a string)`]]) {
    assertEquals(
      message(() => prepareCallbacks([{ name: "o", order: order as number }])),
      `Cannot use callback 'o' as 'order' must be a finite number: current value is ${shown}`,
    );
  }
  assertEquals(prepareCallbacks([{ name: "o", order: -3.5 }]).callbacks.length, 1);
});

Deno.test("ownsHypers, monitors and addsMetrics must be arrays of names", () => {
  for (const key of ["ownsHypers", "monitors", "addsMetrics"]) {
    assertEquals(
      message(() => prepareCallbacks([{ name: "l", [key]: ["a", 3] } as never])),
      `Cannot use callback 'l' as '${key}' must be an array of names: current value is ["a", 3] (an array)`,
    );
    assertEquals(
      message(() => prepareCallbacks([{ name: "l", [key]: "a" } as never])),
      `Cannot use callback 'l' as '${key}' must be an array of names: current value is "a" (a string)`,
    );
    assertEquals(prepareCallbacks([{ name: "l", [key]: ["a", "b"] } as never]).callbacks.length, 1);
  }
});

Deno.test("setsHypers names events and lists hyper-parameter names", () => {
  assertEquals(
    message(() => prepareCallbacks([{ name: "s", setsHypers: { onBatchBegn: ["lr"] } } as never])),
    "Cannot use callback 's' as 'setsHypers' names 'onBatchBegn', which is not an event: did " +
      `you mean 'onBatchBegin'? Events are ${HOOKS}`,
  );
  for (const [keys, shown] of [["lr", `"lr" (a string)`], [["lr", 1], '["lr", 1] (an array)']]) {
    assertEquals(
      message(() => prepareCallbacks([{ name: "s", setsHypers: { onBatchBegin: keys } } as never])),
      "Cannot use callback 's' as 'setsHypers.onBatchBegin' must be an array of hyper-parameter " +
        `names: current value is ${shown}`,
    );
  }
  // an event left undefined sets nothing, with or without the fit's facts
  const quiet: Callback = { name: "s", setsHypers: { onBatchBegin: undefined } } as never;
  assertEquals(prepareCallbacks([quiet], facts()).hyperNames?.has("lr"), true);
  const lr: Callback = { name: "s", setsHypers: { onBatchBegin: ["lr"], onEpochBegin: ["wd"] } };
  assertEquals(prepareCallbacks([lr], facts()).callbacks, [lr]);
});

Deno.test("a scheduled hyper-parameter the optimizer does not read is refused with a near miss", () => {
  assertEquals(
    message(() =>
      prepareCallbacks([{ name: "s", setsHypers: { onBatchBegin: ["mom1"] } }], facts())
    ),
    "Cannot fit as callback 's' sets hyper-parameter 'mom1', which the optimizer (adam) does " +
      "not read and no callback owns: did you mean 'mom'? Known names are lr, mom, sqrMom, eps, wd",
  );
  // a name another callback owns is fine
  const owner: Callback = { name: "o", ownsHypers: ["mom1"] };
  assertEquals(
    prepareCallbacks([{ name: "s", setsHypers: { onBatchBegin: ["mom1"] } }, owner], facts())
      .hyperNames?.has("mom1"),
    true,
  );
});

Deno.test("monitors: an unknown metric, and a validation metric without validation data", () => {
  assertEquals(
    message(
      () => prepareCallbacks([{ name: "m", monitors: ["validLos"] }], facts()),
      RangeError,
    ),
    "Cannot fit as callback 'm' monitors 'validLos', which is not a metric of this fit: did " +
      "you mean 'validLoss'? Metrics are trainLoss, validLoss, accuracy",
  );
  assertEquals(
    message(() =>
      prepareCallbacks([{ name: "m", monitors: ["accuracy"] }], facts({ hasValid: false }))
    ),
    "Cannot fit as callback 'm' monitors 'accuracy', which is computed on validation data, and " +
      "this fit has none: give the learner's data a 'valid' source, or monitor 'trainLoss'",
  );
  // a metric a callback adds is computed without validation data
  const adds: Callback = { name: "a", addsMetrics: ["accuracy"] };
  prepareCallbacks([{ name: "m", monitors: ["accuracy"] }, adds], facts({ hasValid: false }));
  prepareCallbacks([{ name: "m", monitors: ["trainLoss"] }], facts({ hasValid: false }));
});

Deno.test("equal orders keep the given order, however many callbacks there are", () => {
  // 40 callbacks with orders 0/1/2 in a scrambled pattern: the sort must be stable
  const given = Array.from({ length: 40 }, (_, i) => ({ name: `c${i}`, order: (i * 7) % 3 }));
  const expected = [0, 1, 2].flatMap((o) => given.filter((c) => c.order === o).map((c) => c.name));
  assertEquals(prepareCallbacks(given).callbacks.map((c) => c.name), expected);
});

Deno.test("a hook that writes to the frozen state gets a TypeError naming it and the fix", async () => {
  const write = (s: TrainState): void => {
    (s as { epoch: number }).epoch = 3;
  };
  const sync = prepareCallbacks([{ name: "w", onEpochEnd: write }]);
  const e1 = assertThrows(() => handleSync(state(), "onEpochEnd", sync, {}), TypeError);
  assert(
    e1.message.startsWith("Callback 'w' assigned to a frozen value in onEpochEnd ("),
    e1.message,
  );
  assert(
    e1.message.endsWith(
      "): the state and the records in it are frozen; a hook returns an update instead " +
        "({ hypers }, { memory }, …)",
    ),
    e1.message,
  );
  assertInstanceOf(e1.cause, TypeError);
  // the same when the hook is async and the first to answer, and when it comes later
  for (
    const cbs of [
      [{ name: "w", onEpochEnd: (s: TrainState) => Promise.resolve().then(() => write(s)) }],
      [{ name: "a", onEpochEnd: () => Promise.resolve({ memory: 1 }) }, {
        name: "w",
        onEpochEnd: (s: TrainState) => Promise.resolve().then(() => write(s)),
      }],
    ]
  ) {
    const e2 = await assertRejects(
      async () => await handle(state(), "onEpochEnd", prepareCallbacks(cbs), {}),
      TypeError,
      "Callback 'w' assigned to a frozen value in onEpochEnd",
    );
    assertInstanceOf(e2.cause, TypeError);
  }
});

Deno.test("a hook's own errors reach the caller unchanged, sync or async", async () => {
  const own = new TypeError("my own type error");
  const other = new RangeError("out of range");
  for (const error of [own, other]) {
    const sync = prepareCallbacks([{
      name: "e",
      onEpochEnd: () => {
        throw error;
      },
    }]);
    assertStrictEquals(assertThrows(() => handleSync(state(), "onEpochEnd", sync, {})), error);
    const first = prepareCallbacks([{ name: "e", onEpochEnd: () => Promise.reject(error) }]);
    assertStrictEquals(
      await assertRejects(async () => await handle(state(), "onEpochEnd", first, {})),
      error,
    );
  }
});

Deno.test("lastMetrics and metricNames are copied and frozen; their lengths must match", () => {
  const values = [0.5, 0.9];
  const names = ["validLoss", "accuracy"];
  const s = applyUpdate(state(), { lastMetrics: values, metricNames: names }, x, "onEpochEnd");
  values.push(1);
  names.push("f1");
  assertEquals([s.lastMetrics, s.metricNames], [[0.5, 0.9], ["validLoss", "accuracy"]]);
  assert(Object.isFrozen(s.lastMetrics) && Object.isFrozen(s.metricNames));
  assertEquals(
    message(
      () => applyUpdate(state(), { lastMetrics: [1, 2], metricNames: ["a"] }, x, "onEpochEnd"),
      RangeError,
    ),
    "Callback 'x' left 'lastMetrics' (length 2) and 'metricNames' (length 1) of different " +
      "lengths in onEpochEnd",
  );
  assertEquals(
    message(
      () => applyUpdate(state(), { lastMetrics: null as never }, x, "onEpochEnd"),
      RangeError,
    ),
    "Callback 'x' left 'lastMetrics' (length undefined) and 'metricNames' (length 1) of " +
      "different lengths in onEpochEnd",
  );
  assertEquals(
    message(
      () => applyUpdate(state(), { metricNames: null as never }, x, "onEpochEnd"),
      RangeError,
    ),
    "Callback 'x' left 'lastMetrics' (length 0) and 'metricNames' (length undefined) of " +
      "different lengths in onEpochEnd",
  );
});

Deno.test("hypers: each record checked, every refusal naming the group and the key", () => {
  const set = (hypers: unknown, names?: ReadonlySet<string>): TrainState =>
    applyUpdate(state(), { hypers: hypers as never }, x, "onBatchBegin", names);
  const pre = "Callback 'x' set 'hypers' in onBatchBegin: ";
  assertEquals(
    message(() => set([null])),
    `${pre}'hypers[0]' is null, expected a record of numbers`,
  );
  assertEquals(message(() => set([5])), `${pre}'hypers[0]' is 5, expected a record of numbers`);
  assertEquals(
    message(() => set([{ ...H, lr: NaN }]), RangeError),
    `${pre}'hypers[0].lr' must be a finite number: current value is NaN`,
  );
  assertEquals(
    message(() => set([{ ...H, mom: "0.9" }]), RangeError),
    `${pre}'hypers[0].mom' must be a finite number: current value is "0.9" (a string)`,
  );
  assertEquals(
    message(() => set([{ ...H, lr: -0.5 }]), RangeError),
    `${pre}'hypers[0].lr' must be >= 0: current value is -0.5`,
  );
  assertEquals(
    message(() => set([{ ...H, lr: 0, wd: -1 }]), RangeError),
    `${pre}'hypers[0].wd' must be >= 0: current value is -1`,
  );
  const { mom: _, ...noMom } = H;
  assertEquals(
    message(() => set([noMom])),
    `${pre}'hypers[0]' lacks 'mom': return every hyper-parameter of a group ({ ...h, lr } keeps the others)`,
  );
  const names = new Set(["lr", "mom", "sqrMom", "eps", "wd"]);
  assertEquals(
    message(() => set([{ ...H, Lr: 1 }], names)),
    `${pre}'hypers[0].Lr' is not a hyper-parameter the optimizer reads or a callback owns: did ` +
      "you mean 'lr'? Known names are lr, mom, sqrMom, eps, wd",
  );
  // zero is allowed, and the accepted records are frozen
  const ok = set([{ ...H, lr: 0, wd: 0 }], names);
  assertEquals(ok.hypers[0]!.lr, 0);
  assert(Object.isFrozen(ok.hypers) && Object.isFrozen(ok.hypers[0]));
});
