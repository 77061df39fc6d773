// lossGradients(): what a training step computes (the loop's own gradients, bit for bit),
// regularisation included (by hand), frozen variables left out, batch statistics updated or
// not, errors without leaks.
import * as tf from "@tensorflow/tfjs";
import { assertEquals, assertNotEquals, assertThrows } from "@std/assert";
import type { Callback } from "../../core/callback.ts";
import { fit } from "../../core/fit.ts";
import { lossGradients } from "../../core/gradients.ts";
import { disposeLearner, learner } from "../../core/learner.ts";
import { crossEntropy, mse } from "../../core/losses.ts";
import { blobs, disposeBatches, mlp, useCpu } from "../_helpers.ts";
import { close } from "../_linear.ts";

await useCpu();

Deno.test("lossGradients() from a hook equals the loop's gradients of the batch, bit for bit", async () => {
  const train = blobs(64, 2, 16);
  const model = mlp(4);
  const learn = learner({ model, data: { train }, loss: crossEntropy });
  let compared = 0;
  const probe: Callback = {
    name: "probe",
    async onBackwardEnd(s, ctx) {
      const { loss, grads } = lossGradients(ctx.learner!, [s.lastInput!, s.lastTarget!], {
        loss: s.loss,
      });
      assertEquals(Object.keys(grads), Object.keys(s.grads!));
      for (const [name, g] of Object.entries(grads)) {
        assertEquals(await g.data(), await s.grads![name]!.data());
      }
      tf.dispose([loss, ...Object.values(grads)]);
      compared++;
    },
  };
  const before = tf.memory().numTensors;
  await fit(learn, 2, { callbacks: [probe] });
  disposeLearner(learn);
  assertEquals(tf.memory().numTensors, before);
  assertEquals(compared, 8);
  disposeBatches(train);
  model.dispose();
});

Deno.test("lossGradients() adds the regularisation losses and leaves frozen layers out (by hand)", async () => {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ units: 1, inputShape: [2], trainable: false, name: "frozen" }),
      tf.layers.dense({
        units: 1,
        kernelRegularizer: tf.regularizers.l2({ l2: 0.5 }),
        name: "top",
      }),
    ],
  });
  const init = [tf.tensor2d([[1], [2]]), tf.tensor1d([0.5]), tf.tensor2d([[3]]), tf.tensor1d([-1])];
  model.layers[0]!.setWeights(init.slice(0, 2));
  model.layers[1]!.setWeights(init.slice(2));
  tf.dispose(init);
  const learn = learner({ model, data: { train: [] }, loss: mse });
  const x = tf.tensor2d([[1, 0], [0.5, 1]]);
  const y = tf.tensor2d([[2], [1]]);
  const before = tf.memory().numTensors;
  const { loss, grads } = lossGradients(learn, [x, y]);
  // h = x . [1, 2] + 0.5 = [1.5, 3]; out = 3 h - 1 = [3.5, 8]; r = out - y = [1.5, 7]
  const h = [1.5, 3];
  const r = [1.5, 7];
  const expectedLoss = (1.5 ** 2 + 7 ** 2) / 2 + 0.5 * 3 ** 2;
  close([(await loss.data())[0]!], [expectedLoss]);
  assertEquals(Object.keys(grads).sort(), ["top/bias", "top/kernel"]);
  close(await grads["top/kernel"]!.data(), [(r[0]! * h[0]! + r[1]! * h[1]!) + 2 * 0.5 * 3]);
  close(await grads["top/bias"]!.data(), [r[0]! + r[1]!]);
  tf.dispose([loss, ...Object.values(grads)]);
  assertEquals(tf.memory().numTensors, before);
  tf.dispose([x, y]);
  model.dispose();
});

Deno.test("lossGradients({ updateStats: false }) leaves BatchNorm statistics bit for bit; by default it updates them", async () => {
  const model = tf.sequential({
    layers: [tf.layers.batchNormalization({ inputShape: [2] }), tf.layers.dense({ units: 1 })],
  });
  const learn = learner({ model, data: { train: [] }, loss: mse });
  const x = tf.tensor2d([[1, 5], [3, -1], [2, 0]]);
  const y = tf.tensor2d([[1], [0], [2]]);
  const stat = (name: string) => model.weights.find((w) => w.name.endsWith(name))!.read().data();
  const stats = async () => [await stat("moving_mean"), await stat("moving_variance")];
  const start = await stats();
  const frozen = lossGradients(learn, [x, y], { updateStats: false });
  assertEquals(await stats(), start);
  const moving = lossGradients(learn, [x, y]);
  assertNotEquals(await stats(), start);
  close((await stats())[0]!, [0.01 * 2, 0.01 * (4 / 3)]); // 0.99 * 0 + 0.01 * batch mean
  for (const r of [frozen, moving]) tf.dispose([r.loss, ...Object.values(r.grads)]);
  tf.dispose([x, y]);
  model.dispose();
});

Deno.test("lossGradients() refuses a non-scalar loss and one that reaches no variable, leaking nothing", () => {
  const model = mlp(1);
  const learn = learner({ model, data: { train: [] }, loss: crossEntropy });
  const x = tf.ones([3, 2]);
  const y = tf.tensor1d([0, 1, 1], "int32");
  const before = tf.memory().numTensors;
  assertThrows(
    () => lossGradients(learn, [x, y], { loss: (o) => tf.sum(o, 1) as tf.Scalar }),
    TypeError,
    "scalar tensor",
  );
  assertThrows(
    () => lossGradients(learn, [x, y], { loss: () => tf.scalar(1) }),
    TypeError,
    "does not depend on any trainable variable",
  );
  assertEquals(tf.memory().numTensors, before);
  tf.dispose([x, y]);
  model.dispose();
});
