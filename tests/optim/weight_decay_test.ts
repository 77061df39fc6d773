import * as tf from "@tensorflow/tfjs";
import { assertAlmostEquals, assertEquals } from "@std/assert";
import { fit } from "../../core/fit.ts";
import { disposeLearner, learner } from "../../core/learner.ts";
import { adam } from "../../optim/adam.ts";
import { disposeOptimizerState, initOptimizer, optimizerStep } from "../../optim/optimizer.ts";
import { sgd } from "../../optim/sgd.ts";
import { useCpu } from "../_helpers.ts";

await useCpu();

/** AdamW in float64: p <- p (1 - lr wd), then the Adam step. */
function adamW64(
  p0: number[],
  grads: number[][],
  lr: number,
  wd: number,
  trueWd: boolean,
): number[] {
  const [b1, b2, eps] = [0.9, 0.999, 1e-7];
  const p = p0.slice();
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  grads.forEach((g, t) => {
    for (let i = 0; i < p.length; i++) {
      let gi = g[i]!;
      if (trueWd) p[i] = p[i]! * (1 - lr * wd);
      else gi += wd * p[i]!;
      m[i] = b1 * m[i]! + (1 - b1) * gi;
      v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
      const mh = m[i]! / (1 - b1 ** (t + 1));
      const vh = v[i]! / (1 - b2 ** (t + 1));
      p[i] = p[i]! - lr * mh / (Math.sqrt(vh) + eps);
    }
  });
  return p;
}

for (const trueWd of [true, false]) {
  Deno.test(`adam() with wd and trueWd: ${trueWd} matches a float64 hand computation over 20 steps`, async () => {
    const p0 = [0.5, -1.5, 2, 0.25];
    const grads = Array.from(
      { length: 20 },
      (_, t) => p0.map((_, i) => Math.sin(t * 1.3 + i * 0.7)),
    );
    const w = tf.variable(tf.tensor1d(p0));
    const params = [{ variable: w, group: 0, decay: true }];
    const opt = adam();
    let state = initOptimizer(opt, params);
    for (const g of grads) {
      const gt = tf.tensor1d(g);
      state = optimizerStep(opt, params, { [w.name]: gt }, state, [
        { lr: 0.01, mom: 0.9, sqrMom: 0.999, eps: 1e-7, wd: 0.1 },
      ], { trueWd });
      gt.dispose();
    }
    const expected = adamW64(p0, grads, 0.01, 0.1, trueWd);
    const got = await w.data();
    expected.forEach((e, i) => assertAlmostEquals(got[i]!, e, 1e-5 * Math.max(1, Math.abs(e))));
    disposeOptimizerState(state);
    w.dispose();
  });
}

Deno.test("bnWd: false leaves biases and batch-norm weights undecayed while other weights decay", async () => {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ units: 3, inputShape: [2], biasInitializer: "ones" }),
      tf.layers.batchNormalization({ gammaInitializer: "ones", betaInitializer: "ones" }),
      tf.layers.dense({ units: 1, biasInitializer: "ones" }),
    ],
  });
  const x = tf.ones([4, 2]);
  const y = tf.ones([4, 1]);
  // A loss with zero gradient: only weight decay moves the weights.
  const zeroLoss = (o: tf.Tensor) => tf.mul(tf.sum(o), 0) as tf.Scalar;
  const before = await Promise.all(model.trainableWeights.map((w) => w.read().data()));
  const learn = learner({
    model,
    data: { train: [[x, y]] },
    loss: zeroLoss,
    optimizer: sgd(),
    bnWd: false,
    wd: 0.5,
  });
  await fit(learn, 1, { lr: 0.1 });
  const names = model.trainableWeights.map((w) => (w.read() as tf.Variable).name.split("/").at(-1));
  assertEquals(names, ["kernel", "bias", "gamma", "beta", "kernel", "bias"]);
  for (const [i, w] of model.trainableWeights.entries()) {
    const now = await w.read().data();
    const factor = names[i] === "kernel" ? 1 - 0.1 * 0.5 : 1;
    now.forEach((v, j) =>
      assertAlmostEquals(v, before[i]![j]! * factor, 1e-6, `${names[i]}[${j}]`)
    );
  }
  disposeLearner(learn);
  tf.dispose([x, y]);
  model.dispose();
});

Deno.test("a hand-written model picks undecayed variables with the noDecay predicate", async () => {
  const a = tf.variable(tf.ones([2, 2]), true, "hand_a");
  const b = tf.variable(tf.ones([2]), true, "hand_b");
  const model = {
    variables: [a, b],
    apply: (x: tf.Tensor | tf.Tensor[]) => tf.add(tf.matMul(x as tf.Tensor, a), b),
  };
  const x = tf.ones([1, 2]);
  const zeroLoss = (o: tf.Tensor) => tf.mul(tf.sum(o), 0) as tf.Scalar;
  const learn = learner({
    model,
    data: { train: [[x, x]] },
    loss: zeroLoss,
    optimizer: sgd(),
    bnWd: false,
    wd: 1,
    noDecay: (v) => v.name === "hand_a",
  });
  await fit(learn, 1, { lr: 0.5 });
  assertEquals(Array.from(await a.data()), [1, 1, 1, 1]);
  assertEquals(Array.from(await b.data()), [0.5, 0.5]);
  disposeLearner(learn);
  tf.dispose([a, b, x]);
});
