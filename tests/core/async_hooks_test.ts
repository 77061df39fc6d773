// Hooks that return promises: their updates are applied like synchronous ones, every
// applied update is reported to the observer (which is how fit takes ownership of tensors
// a hook puts in the state), and a fit with such hooks leaks nothing.
import * as tf from "@tensorflow/tfjs";
import { assertAlmostEquals, assertEquals, assertInstanceOf } from "@std/assert";
import type { Callback } from "../../core/callback.ts";
import { batches } from "../../core/data.ts";
import { fit } from "../../core/fit.ts";
import { handle, prepareCallbacks } from "../../core/handler.ts";
import { disposeLearner, learner } from "../../core/learner.ts";
import { mse } from "../../core/losses.ts";
import { initialState, type TrainState } from "../../core/state.ts";
import { sgd } from "../../optim/sgd.ts";
import { num, scaleModel, useCpu } from "../_helpers.ts";

await useCpu();

const H = { lr: 1, mom: 0, sqrMom: 0, eps: 0, wd: 0 };
const lrOf = (s: TrainState): number => s.hypers[0]!.lr;

Deno.test("handle() reports every applied update to the observer, before and after async hooks", async () => {
  const s0 = initialState({ nEpochs: 1, hypers: [H], loss: () => tf.scalar(0) });
  const set = prepareCallbacks([
    { name: "a", order: 0, onEpochBegin: (s) => ({ hypers: [{ ...H, lr: lrOf(s) + 1 }] }) },
    { name: "b", order: 1, onEpochBegin: () => undefined },
    {
      name: "c",
      order: 2,
      onEpochBegin: (s) => Promise.resolve({ hypers: [{ ...H, lr: lrOf(s) * 10 }] }),
    },
    { name: "d", order: 3, onEpochBegin: () => Promise.resolve() },
    {
      name: "e",
      order: 4,
      onEpochBegin: async (s) => {
        await Promise.resolve();
        return { hypers: [{ ...H, lr: lrOf(s) + 3 }] };
      },
    },
    { name: "f", order: 5, onEpochBegin: (s) => ({ hypers: [{ ...H, lr: lrOf(s) / 2 }] }) },
  ]);
  const seen: [number, number][] = [];
  const result = handle(s0, "onEpochBegin", set, {}, (before, after) => {
    seen.push([lrOf(before), lrOf(after)]);
  });
  assertInstanceOf(result, Promise);
  const s = await result;
  // 1 -> 2 (a), 2 -> 20 (c, async), 20 -> 23 (e, after an awaited one), 23 -> 11.5 (f)
  assertEquals(seen, [[1, 2], [2, 20], [20, 23], [23, 11.5]]);
  assertEquals(lrOf(s), 11.5);
  assertEquals(lrOf(s0), 1);
});

Deno.test("handle() with only synchronous hooks reports each update too, and skips hooks that return nothing", () => {
  const s0 = initialState({ nEpochs: 1, hypers: [H], loss: () => tf.scalar(0) });
  const set = prepareCallbacks([
    { name: "a", onBatchEnd: () => ({ stopEpoch: true }) },
    { name: "b", onBatchEnd: () => {} },
    { name: "c", onBatchEnd: () => ({ memory: 3 }) },
  ]);
  const seen: string[] = [];
  const s = handle(s0, "onBatchEnd", set, {}, (before, after) => {
    seen.push(`${before.stopEpoch}->${after.stopEpoch} ${JSON.stringify(after.memory)}`);
  }) as TrainState;
  assertEquals(seen, ["false->true {}", 'true->true {"c":3}']);
  assertEquals(s.memory, { c: 3 });
});

Deno.test("tensors that promise-returning hooks put in the state are freed by the loop", async () => {
  // y = w x, x = [1, 2], y = [2, 4]: two batches of one sample
  const x = tf.tensor1d([1, 2]);
  const y = tf.tensor1d([2, 4]);
  const model = scaleModel(0);
  const learn = learner({
    model,
    data: { train: batches(x, y, { batchSize: 1 }), valid: batches(x, y, { batchSize: 1 }) },
    loss: mse,
    optimizer: sgd(),
    lr: 0.05,
  });
  const wait = () => new Promise((r) => setTimeout(r, 0));
  const callbacks: Callback[] = [
    {
      // training and validation: the input doubled, then (a second async hook) halved back
      name: "double",
      order: 0,
      onBatchBegin: async (s) => {
        await wait();
        return {
          lastInput: tf.mul(s.lastInput as tf.Tensor, 2),
          lastTarget: tf.clone(s.lastTarget!),
        };
      },
    },
    {
      name: "halve",
      order: 1,
      onBatchBegin: async (s) => {
        await wait();
        return { lastInput: tf.div(s.lastInput as tf.Tensor, 2) };
      },
      // validation only (training's onLossBegin must be synchronous)
      onLossBegin: (s) =>
        s.train ? undefined : wait().then(() => ({ lastOutput: tf.add(s.lastOutput!, 0) })),
      // the gradient replaced twice by async hooks: scaled by 3, then by 1/3
      onBackwardEnd: (s) =>
        Promise.resolve({
          grads: Object.fromEntries(Object.entries(s.grads!).map(([k, g]) => [k, tf.mul(g, 3)])),
        }),
    },
    {
      name: "third",
      order: 2,
      onBackwardEnd: async (s) => {
        await wait();
        return {
          grads: Object.fromEntries(Object.entries(s.grads!).map(([k, g]) => [k, tf.div(g, 3)])),
        };
      },
    },
  ];
  const before = tf.memory().numTensors;
  await fit(learn, 2, { callbacks });
  disposeLearner(learn);
  assertEquals(tf.memory().numTensors, before);
  // the replacements cancel out: plain SGD on w with lr 0.05, by hand
  // grad of (w x - y)^2 = 2 x (w x - y); batches x = 1, y = 2 then x = 2, y = 4
  let w = 0;
  for (let e = 0; e < 2; e++) {
    w -= 0.05 * 2 * 1 * (w * 1 - 2);
    w -= 0.05 * 2 * 2 * (w * 2 - 4);
  }
  assertAlmostEquals(await num(model.w), w, 1e-6);
  model.dispose();
  tf.dispose([x, y]);
});
