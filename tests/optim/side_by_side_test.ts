// Our optimizers against tfjs's own, side by side for 20 steps on random least-squares
// problems: weights must agree to 1e-5 relative (norm-wise: |a - b| / |b| over all
// weights; element-wise ratios blow up on weights near zero). Adam's bias correction here
// is computed in float64 where tfjs accumulates beta^t in a float32 variable, which is
// the ~1e-7-per-step drift left.
import * as tf from "@tensorflow/tfjs";
import { assertLessOrEqual } from "@std/assert";
import { adam } from "../../optim/adam.ts";
import {
  disposeOptimizerState,
  initOptimizer,
  type Optimizer,
  optimizerStep,
} from "../../optim/optimizer.ts";
import { rmsprop } from "../../optim/rmsprop.ts";
import { sgd } from "../../optim/sgd.ts";
import type { Hypers } from "../../core/state.ts";
import { useCpu } from "../_helpers.ts";

await useCpu();

async function compare(
  ours: Optimizer,
  hypers: Hypers,
  theirs: tf.Optimizer,
  seed: number,
): Promise<number> {
  const x = tf.randomNormal([32, 5], 0, 1, "float32", seed);
  const y = tf.randomNormal([32, 3], 0, 1, "float32", seed + 1);
  const w0 = tf.randomNormal([5, 3], 0, 0.5, "float32", seed + 2);
  const b0 = tf.randomNormal([3], 0, 0.5, "float32", seed + 3);
  const [wa, ba, wb, bb] = [w0, b0, w0, b0].map((t) => tf.variable(t.clone()));
  const loss = (w: tf.Variable, b: tf.Variable) => () =>
    tf.mean(tf.square(tf.sub(tf.add(tf.matMul(x, w), b), y))) as tf.Scalar;
  const params = [wa!, ba!].map((variable) => ({ variable, group: 0, decay: true }));
  let state = initOptimizer(ours, params);
  for (let i = 0; i < 20; i++) {
    const { value, grads } = tf.variableGrads(loss(wa!, ba!), [wa!, ba!]);
    state = optimizerStep(ours, params, grads, state, [hypers]);
    tf.dispose([value, ...Object.values(grads)]);
    theirs.minimize(loss(wb!, bb!), false, [wb!, bb!]);
  }
  let diff = 0;
  let norm = 0;
  for (const [a, b] of [[wa!, wb!], [ba!, bb!]] as const) {
    const [da, db] = [await a.data(), await b.data()];
    for (let i = 0; i < da.length; i++) {
      diff += (da[i]! - db[i]!) ** 2;
      norm += db[i]! ** 2;
    }
  }
  const worst = Math.sqrt(diff / norm);
  disposeOptimizerState(state);
  theirs.dispose();
  tf.dispose([x, y, w0, b0, wa!, ba!, wb!, bb!]);
  return worst;
}

const H = (o: Partial<Hypers>): Hypers => ({ lr: 0.05, mom: 0, sqrMom: 0, eps: 1e-7, wd: 0, ...o });

for (const seed of [1, 2, 3]) {
  Deno.test(`sgd() equals tf.train.sgd (seed ${seed})`, async () => {
    assertLessOrEqual(await compare(sgd(), H({}), tf.train.sgd(0.05), seed * 10), 1e-5);
  });
  Deno.test(`sgd({ mom }) equals tf.train.momentum (seed ${seed})`, async () => {
    assertLessOrEqual(
      await compare(sgd(), H({ mom: 0.9 }), tf.train.momentum(0.05, 0.9), seed * 10),
      1e-5,
    );
  });
  Deno.test(`adam() equals tf.train.adam (seed ${seed})`, async () => {
    const h = H({ lr: 0.01, mom: 0.9, sqrMom: 0.999, eps: 1e-7 });
    assertLessOrEqual(
      await compare(adam(), h, tf.train.adam(0.01, 0.9, 0.999, 1e-7), seed * 10),
      1e-5,
    );
  });
  Deno.test(`rmsprop() equals tf.train.rmsprop (seed ${seed})`, async () => {
    const h = H({ lr: 0.01, mom: 0.5, sqrMom: 0.9, eps: 1e-7 });
    assertLessOrEqual(
      await compare(rmsprop(), h, tf.train.rmsprop(0.01, 0.9, 0.5, 1e-7), seed * 10),
      1e-5,
    );
  });
}
