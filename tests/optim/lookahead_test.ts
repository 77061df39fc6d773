// lookahead(): slow/fast weights against a float64 hand computation (around SGD with
// momentum, whose slot it carries), the inner optimizer untouched between syncs (around
// Adam, bit for bit), and its slow weights kept by snapshots.
import * as tf from "@tensorflow/tfjs";
import { assertEquals, assertThrows } from "@std/assert";
import { fit } from "../../core/fit.ts";
import { disposeLearner, learner } from "../../core/learner.ts";
import { crossEntropy, mse } from "../../core/losses.ts";
import { adam } from "../../optim/adam.ts";
import { lookahead } from "../../optim/lookahead.ts";
import {
  disposeOptimizerState,
  exportOptimizerState,
  initOptimizer,
  type Optimizer,
  optimizerStep,
} from "../../optim/optimizer.ts";
import { sgd } from "../../optim/sgd.ts";
import { blobs, disposeBatches, mlp, useCpu } from "../_helpers.ts";
import { close, grad, linear, linearData, type P, paramsOf } from "../_linear.ts";
import { interruptedVersusNot, weightsOf } from "../_resume.ts";

await useCpu();

Deno.test("lookahead(sgd({ mom })) moves the slow weights alpha of the way every k steps (float64 by hand)", async () => {
  const data = linearData();
  const model = linear();
  const opt = lookahead(sgd({ mom: 0.9 }), { k: 3, alpha: 0.5 });
  const learn = learner({ model, data: { train: data.batches }, loss: mse, optimizer: opt });
  const before = tf.memory().numTensors;
  await fit(learn, 3, { lr: 0.1 });
  let p: P = [0.5, -0.25, 0.1];
  let slow: P = p;
  let buf: P = [0, 0, 0];
  for (let step = 1; step <= 9; step++) {
    const g = grad(p, (step - 1) % 3);
    buf = [0.9 * buf[0] + g[0], 0.9 * buf[1] + g[1], 0.9 * buf[2] + g[2]];
    p = [p[0] - 0.1 * buf[0], p[1] - 0.1 * buf[1], p[2] - 0.1 * buf[2]];
    if (step % 3 === 0) {
      slow = [0, 1, 2].map((j) => slow[j]! + 0.5 * (p[j]! - slow[j]!)) as unknown as P;
      p = slow;
    }
  }
  close(await paramsOf(model), p);
  const state = await exportOptimizerState(learn.optState!);
  assertEquals(state.step, 9);
  const [wSlots, bSlots] = [state.slots[model.w.name]!, state.slots[model.b.name]!];
  assertEquals([wSlots.length, bSlots.length], [2, 2]); // sgd's momentum buffer, then the slow weights
  close([...wSlots[0]!.values, ...bSlots[0]!.values], buf);
  close([...wSlots[1]!.values, ...bSlots[1]!.values], slow);
  assertEquals(learn.optimizer.name, "lookahead(sgd)");
  disposeLearner(learn);
  assertEquals(tf.memory().numTensors, before);
  model.dispose();
  data.dispose();
});

Deno.test("lookahead(adam()) never synced is adam bit for bit, its slots first", async () => {
  const run = async (optimizer: Optimizer) => {
    const train = blobs(64, 5, 16);
    const model = mlp(3);
    const learn = learner({ model, data: { train }, loss: crossEntropy, optimizer });
    await fit(learn, 2, { lr: 1e-2 });
    const out = { w: await weightsOf(learn), s: await exportOptimizerState(learn.optState!) };
    disposeLearner(learn);
    disposeBatches(train);
    model.dispose();
    return out;
  };
  const plain = await run(adam());
  const wrapped = await run(lookahead(adam(), { k: 1000 }));
  assertEquals(wrapped.w, plain.w);
  const slots = (s: typeof plain.s) => Object.values(s.slots);
  slots(wrapped.s).forEach((list, i) => assertEquals(list.slice(0, 2), slots(plain.s)[i]));
});

Deno.test("lookahead()'s slow weights survive a snapshot: a resumed run is bit-identical", async () => {
  const { straight, resumed, a, b } = await interruptedVersusNot({
    setup(init) {
      const train = blobs(64, 9, 16);
      const model = mlp(init);
      const learn = learner({
        model,
        data: { train },
        loss: crossEntropy,
        optimizer: lookahead(adam(), { k: 5, alpha: 0.6 }),
      });
      return {
        learn,
        dispose: () => (disposeLearner(learn), disposeBatches(train), model.dispose()),
      };
    },
    epochs: 3,
    callbacks: () => [],
    options: { lr: 1e-2 },
    at: 6, // after step 7: the slow weights synced at step 5 differ from the fast ones
    read: async (learn) => ({
      w: await weightsOf(learn),
      s: await exportOptimizerState(learn.optState!),
    }),
  });
  assertEquals(resumed.w, straight.w);
  assertEquals(resumed.s.step, 12);
  assertEquals(Object.values(resumed.s.slots), Object.values(straight.s.slots));
  assertEquals(b.history, a.history);
});

Deno.test("lookahead() checks its options", () => {
  assertThrows(() => lookahead(sgd(), { k: 0 }), RangeError, "'k' must be a positive integer");
  assertThrows(() => lookahead(sgd(), { alpha: 0 }), RangeError, "'alpha' must be in (0, 1]");
  assertThrows(() => lookahead(sgd(), { alpha: 1.5 }), RangeError, "'alpha'");
});

Deno.test("lookahead() accepts the edges k = 1 and alpha = 1: then it is the inner optimizer", async () => {
  const run = async (opt: Optimizer): Promise<number[]> => {
    const w = tf.variable(tf.tensor1d([1, -2]));
    const params = [{ variable: w, group: 0, decay: false }];
    let state = initOptimizer(opt, params);
    const h = [{ lr: 0.1, mom: 0.9, sqrMom: 0.99, eps: 1e-7, wd: 0 }];
    for (const gv of [[1, 2], [-3, 0.5], [2, 2]]) {
      const g = tf.tensor1d(gv);
      state = optimizerStep(opt, params, { [w.name]: g }, state, h);
      g.dispose();
    }
    const out = Array.from(await w.data());
    disposeOptimizerState(state);
    w.dispose();
    return out;
  };
  assertEquals(
    await run(lookahead(sgd({ mom: 0.9 }), { k: 1, alpha: 1 })),
    await run(sgd({ mom: 0.9 })),
  );
});

Deno.test("lookahead() hands the inner optimizer exactly its own slots", () => {
  const seen: number[] = [];
  const counting: Optimizer = {
    name: "counting",
    defaults: sgd().defaults,
    init: (p) => [tf.zerosLike(p), tf.onesLike(p)],
    update: (param, _grad, slots) => {
      seen.push(slots.length);
      return { param: tf.add(param, 1), slots: slots.map((s) => tf.add(s, 1)) };
    },
  };
  const w = tf.variable(tf.tensor1d([0]));
  const params = [{ variable: w, group: 0, decay: false }];
  const opt = lookahead(counting, { k: 2 });
  let state = initOptimizer(opt, params);
  assertEquals(state.slots[w.name]!.length, 3); // two of its own, then the slow weights
  const g = tf.tensor1d([0]);
  const h = [{ lr: 0.1, mom: 0.9, sqrMom: 0.99, eps: 1e-7, wd: 0 }];
  for (let i = 0; i < 3; i++) state = optimizerStep(opt, params, { [w.name]: g }, state, h);
  assertEquals(seen, [2, 2, 2]);
  disposeOptimizerState(state);
  tf.dispose([w, g]);
});
