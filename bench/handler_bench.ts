// `deno bench`: one event through the handler with 0, 1 and 10 no-op callbacks, one that
// returns an update, and the recorder. ns per event.
import type { Callback } from "../core/callback.ts";
import { recorder } from "../core/recorder.ts";
import { handle, prepareCallbacks } from "../core/handler.ts";
import { initialState } from "../core/state.ts";

const state = initialState({
  nEpochs: 1,
  hypers: [{ lr: 1e-3, mom: 0.9, sqrMom: 0.99, eps: 1e-7, wd: 0 }],
  loss: () => {
    throw new Error("unused");
  },
});
const noop = (i: number): Callback => ({ name: `noop${i}`, onBatchBegin: () => undefined });
const sets = {
  none: prepareCallbacks([]),
  one: prepareCallbacks([noop(0)]),
  ten: prepareCallbacks(Array.from({ length: 10 }, (_, i) => noop(i))),
  updating: prepareCallbacks([{ name: "lr", onBatchBegin: (s) => ({ hypers: s.hypers }) }]),
  recorder: prepareCallbacks([recorder()]),
};
const ctx = {};

Deno.bench("handler: onBatchBegin, 0 callbacks", { group: "handler", baseline: true }, () => {
  handle(state, "onBatchBegin", sets.none, ctx);
});
Deno.bench("handler: onBatchBegin, 1 no-op callback", { group: "handler" }, () => {
  handle(state, "onBatchBegin", sets.one, ctx);
});
Deno.bench("handler: onBatchBegin, 10 no-op callbacks", { group: "handler" }, () => {
  handle(state, "onBatchBegin", sets.ten, ctx);
});
Deno.bench("handler: onBatchBegin, 1 callback returning an update", { group: "handler" }, () => {
  handle(state, "onBatchBegin", sets.updating, ctx);
});
let s = state;
Deno.bench(
  "handler: onBackwardEnd through the recorder (appends 2 logs)",
  { group: "handler" },
  () => {
    s = handle(s, "onBackwardEnd", sets.recorder, ctx) as typeof s;
  },
);
// With the frozen state (issue 16), an update that brings new records pays for freezing them.
const newLr = prepareCallbacks([{
  name: "lr",
  onBatchBegin: (s) => ({ hypers: s.hypers.map((h) => ({ ...h, lr: h.lr * 0.999 })) }),
}]);
const writesMemory = prepareCallbacks([{
  name: "m",
  onBatchBegin: (s) => ({ memory: { n: (s.memory.m as { n: number } | undefined)?.n ?? 0, x: 1 } }),
}]);
Deno.bench("handler: onBatchBegin, 1 callback setting a new lr", { group: "handler" }, () => {
  handle(state, "onBatchBegin", newLr, ctx);
});
Deno.bench("handler: onBatchBegin, 1 callback writing its memory", { group: "handler" }, () => {
  handle(state, "onBatchBegin", writesMemory, ctx);
});
