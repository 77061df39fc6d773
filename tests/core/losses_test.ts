import * as tf from "@tensorflow/tfjs";
import { assertAlmostEquals, assertThrows } from "@std/assert";
import { crossEntropy, mse } from "../../core/losses.ts";
import { num, useCpu } from "../_helpers.ts";

await useCpu();

Deno.test("crossEntropy() of labels equals -mean log softmax of the true class", async () => {
  const logits = tf.tensor2d([[2, 0, 0], [0, 1, 3]]);
  const lse1 = Math.log(Math.exp(2) + 2);
  const lse2 = Math.log(1 + Math.E + Math.exp(3));
  const expected = ((lse1 - 2) + (lse2 - 1)) / 2;
  assertAlmostEquals(await num(crossEntropy(logits, tf.tensor1d([0, 1], "int32"))), expected, 1e-5);
  assertAlmostEquals(await num(crossEntropy(logits, tf.tensor2d([[0], [1]]))), expected, 1e-5);
  const oneHot = tf.tensor2d([[1, 0, 0], [0, 1, 0]]);
  assertAlmostEquals(await num(crossEntropy(logits, oneHot)), expected, 1e-5);
  // soft targets: linear in the target
  const soft = tf.tensor2d([[0.5, 0.5, 0], [0, 1, 0]]);
  const softExpected = ((lse1 - 2) * 0.5 + (lse1 - 0) * 0.5 + (lse2 - 1)) / 2;
  assertAlmostEquals(await num(crossEntropy(logits, soft)), softExpected, 1e-5);
});

Deno.test("crossEntropy() names both shapes when the target fits neither form", () => {
  assertThrows(
    () => crossEntropy(tf.zeros([2, 3]), tf.zeros([2, 4])),
    RangeError,
    "output has shape [2,3] and target has shape [2,4]",
  );
  assertThrows(() => crossEntropy(tf.zeros([2, 3]), tf.zeros([3])), RangeError, "[3]");
});

Deno.test("mse() averages squared differences and accepts [B] against [B, 1]", async () => {
  assertAlmostEquals(await num(mse(tf.tensor1d([1, 2, 3]), tf.tensor1d([1, 0, 0]))), 13 / 3, 1e-6);
  assertAlmostEquals(await num(mse(tf.tensor2d([[1], [2]]), tf.tensor1d([0, 0]))), 2.5, 1e-6);
  assertThrows(() => mse(tf.zeros([2, 2]), tf.zeros([3])), RangeError, "output has shape [2,2]");
});
