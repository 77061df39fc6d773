import * as tf from "@tensorflow/tfjs";
import { assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { fit } from "../../core/fit.ts";
import { disposeLearner, learner } from "../../core/learner.ts";
import { mse } from "../../core/losses.ts";
import { lrRange, perGroup, readHyper, resolveLr, setHyper } from "../../optim/hypers.ts";
import { sgd } from "../../optim/sgd.ts";
import { num, useCpu } from "../_helpers.ts";

await useCpu();
const H = { lr: 1, mom: 0.9, sqrMom: 0.99, eps: 1e-7, wd: 0 };

Deno.test("readHyper() and setHyper() read and set per group without mutating", () => {
  const hs = Object.freeze([Object.freeze(H), Object.freeze({ ...H, lr: 2 })]);
  assertEquals(readHyper(hs, "lr"), [1, 2]);
  const set = setHyper(hs, "mom", 0.5);
  assertEquals(readHyper(set, "mom"), [0.5, 0.5]);
  assertEquals(readHyper(setHyper(hs, "beta", [3, 4]), "beta"), [3, 4]);
  assertEquals(hs[0]!.mom, 0.9);
  assertThrows(
    () => setHyper(hs, "lr", [1, 2, 3]),
    RangeError,
    "with 3 values for 2 layer groups",
  );
  assertThrows(() => readHyper(hs, "nope"), RangeError, "'nope'");
});

Deno.test("lrRange() spreads geometrically; a single stop gives stop/10 to all but the last", () => {
  const r = resolveLr(lrRange(1e-4, 1e-2), 3);
  [1e-4, 1e-3, 1e-2].forEach((v, i) => assertAlmostEquals(r[i]!, v, 1e-15));
  assertEquals(resolveLr(lrRange(1e-2), 3), [1e-3, 1e-3, 1e-2]);
  assertEquals(resolveLr(lrRange(1e-4, 1e-2), 1), [1e-2]);
  assertEquals(resolveLr(0.1, 2), [0.1, 0.1]);
  assertThrows(() => lrRange(-1), RangeError, "'stop' must be > 0");
  assertThrows(() => perGroup("wd", [1, NaN], 2), RangeError, "'wd[1]' must be finite");
});

Deno.test("discriminative learning rates from lrRange move each group by its own lr", async () => {
  const vs = [0, 1, 2].map(() => tf.variable(tf.zeros([1])));
  const model = {
    variables: vs,
    apply: (x: tf.Tensor | tf.Tensor[]) => tf.addN(vs.map((v) => tf.mul(x as tf.Tensor, v))),
  };
  const x = tf.tensor1d([1]);
  const y = tf.tensor1d([2]);
  const learn = learner({
    model,
    data: { train: [[x, y]] },
    loss: mse,
    optimizer: sgd(),
    layerGroups: vs.map((v) => [v]),
  });
  await fit(learn, 1, { lr: lrRange(0.01, 0.04) });
  // each gradient is -4: steps of 0.04, 0.08, 0.16
  const got = await Promise.all(vs.map(num));
  [0.04, 0.08, 0.16].forEach((v, i) => assertAlmostEquals(got[i]!, v, 1e-6));
  disposeLearner(learn);
  tf.dispose([...vs, x, y]);
});
