import * as tf from "@tensorflow/tfjs";
import { assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { accuracy, averageMetric, errorRate } from "../../core/metrics.ts";
import { fit } from "../../core/fit.ts";
import { disposeLearner, learner } from "../../core/learner.ts";
import { mse } from "../../core/losses.ts";
import { num, scaleModel, useCpu } from "../_helpers.ts";

await useCpu();

Deno.test("accuracy and errorRate count arg-max hits for labels and one-hot targets", async () => {
  const out = tf.tensor2d([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.5, 0.6]]);
  const labels = tf.tensor1d([1, 0, 0, 0, 1], "int32");
  assertAlmostEquals(await num(accuracy.fn(out, labels)), 0.8, 1e-6);
  assertAlmostEquals(await num(errorRate.fn(out, labels)), 0.2, 1e-6);
  assertAlmostEquals(await num(accuracy.fn(out, tf.oneHot(labels, 2))), 0.8, 1e-6);
  assertThrows(() => accuracy.fn(out, tf.zeros([3])), RangeError, "output has shape [5,2]");
});

Deno.test("averageMetric() is weighted by batch size over the validation set", async () => {
  // validation batches of sizes 3 and 1 with per-batch mean |output - target| of 1 and 5:
  // weighted mean (3*1 + 1*5) / 4 = 2, where a plain mean of batch means would give 3.
  const model = scaleModel(0);
  const v1x = tf.tensor1d([1, 1, 1]);
  const v1y = tf.tensor1d([1, -1, 1]); // output 0: |0 - y| = 1 each
  const v2x = tf.tensor1d([1]);
  const v2y = tf.tensor1d([5]);
  const mae = averageMetric((o, t) => tf.mean(tf.abs(tf.sub(o, t))), { name: "mae" });
  const learn = learner({
    model,
    data: { train: [[v2x, tf.tensor1d([0])]], valid: [[v1x, v1y], [v2x, v2y]] },
    loss: mse,
    metrics: [mae],
  });
  const { state } = await fit(learn, 1, { lr: 0 });
  assertEquals(state.metricNames, ["validLoss", "mae"]);
  assertAlmostEquals(state.lastMetrics[1]!, 2, 1e-6);
  // validLoss: (3 * 1 + 1 * 25) / 4 = 7
  assertAlmostEquals(state.lastMetrics[0]!, 7, 1e-5);
  disposeLearner(learn);
  model.dispose();
});

Deno.test("averageMetric() needs a name for an anonymous function", () => {
  assertThrows(() => averageMetric((o) => tf.mean(o)), TypeError, "'name'");
  function hits(o: tf.Tensor): tf.Scalar {
    return tf.mean(o);
  }
  assertEquals(averageMetric(hits).name, "hits");
});
