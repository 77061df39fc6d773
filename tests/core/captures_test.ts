import * as tf from "@tensorflow/tfjs";
import { assert, assertAlmostEquals, assertEquals, assertRejects } from "@std/assert";
import type { Callback } from "../../core/callback.ts";
import { batches } from "../../core/data.ts";
import { fit } from "../../core/fit.ts";
import { disposeLearner, learner } from "../../core/learner.ts";
import { mse } from "../../core/losses.ts";
import type { ApplyOptions, Input } from "../../core/types.ts";
import { useCpu } from "../_helpers.ts";

await useCpu();

function mlp(seed: number): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.dense({
        units: 5,
        inputShape: [3],
        activation: "relu",
        name: `hidden${seed}`,
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
      }),
      tf.layers.dropout({ rate: 0.3, name: `drop${seed}` }),
      tf.layers.dense({
        units: 1,
        name: `out${seed}`,
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
      }),
    ],
  });
}

function data(): { x: tf.Tensor; y: tf.Tensor } {
  const x = tf.randomNormal([20, 3], 0, 1, "float32", 2);
  return { x, y: tf.tidy(() => tf.sum(x, 1, true)) };
}

Deno.test("captures: a layer's output from the same forward pass, in training and validation", async () => {
  const { x, y } = data();
  const model = mlp(1);
  const learn = learner({
    model,
    data: { train: batches(x, y, { batchSize: 8 }), valid: batches(x, y, { batchSize: 10 }) },
    loss: mse,
  });
  const checked = { train: 0, valid: 0 };
  let expected: Float32Array | undefined;
  const probe: Callback = {
    name: "probe",
    captures: () => ["hidden1", "out1"],
    // the hidden layer recomputed by hand from the weights before the step
    onBatchBegin: async (s) => {
      const [k, b] = model.layers[0]!.getWeights();
      const h = tf.tidy(() => tf.relu(tf.add(tf.matMul(s.lastInput as tf.Tensor, k!), b!)));
      expected = (await h.data()) as Float32Array;
      h.dispose();
    },
    onLossBegin: (s) => {
      // the output layer's capture is the model's output itself
      assert(s.lastCaptures.out1 === s.lastOutput, "out1 is the output");
    },
    onBatchEnd: async (s) => {
      assertEquals(Object.keys(s.lastCaptures), ["hidden1", "out1"]);
      const got = await s.lastCaptures.hidden1!.data();
      got.forEach((v, i) => assertAlmostEquals(v, expected![i]!, 1e-6));
      checked[s.train ? "train" : "valid"]++;
    },
  };
  const before = tf.memory().numTensors;
  await fit(learn, 2, { callbacks: [probe] });
  assertEquals(checked, { train: 6, valid: 4 });
  disposeLearner(learn);
  assertEquals(tf.memory().numTensors, before);
  model.dispose();
  tf.dispose([x, y]);
});

Deno.test("captures change nothing: the same run, bit for bit, with dropout", async () => {
  const { x, y } = data();
  const finals: Float32Array[][] = [];
  for (const callbacks of [[], [{ name: "tap", captures: () => ["hidden2", "drop2"] }]]) {
    const model = mlp(2);
    const learn = learner({
      model,
      data: { train: batches(x, y, { batchSize: 8, shuffle: true }) },
      loss: mse,
    });
    await fit(learn, 3, { lr: 0.01, seed: 5, callbacks });
    finals.push(
      await Promise.all(model.getWeights().map((w) => w.data() as Promise<Float32Array>)),
    );
    disposeLearner(learn);
    model.dispose();
  }
  assertEquals(finals[1], finals[0]);
  tf.dispose([x, y]);
});

Deno.test("captures of a hand-written model: what its apply reports with options.capture", async () => {
  const w = tf.variable(tf.tensor2d([[1], [2], [3]]));
  const model = {
    variables: [w],
    apply(input: Input, options: ApplyOptions): tf.Tensor {
      const h = tf.matMul(input as tf.Tensor, w);
      options.capture?.("h", h);
      options.capture?.("unused", h);
      return tf.mul(h, 2);
    },
  };
  const x = tf.tensor2d([[1, 0, 0], [0, 1, 1]]);
  const y = tf.tensor2d([[0], [0]]);
  const learn = learner({ model, data: { train: batches(x, y) }, loss: mse });
  let h: number[] = [];
  const probe: Callback = {
    name: "probe",
    captures: () => ["h"],
    onBatchEnd: async (s) => {
      assertEquals(Object.keys(s.lastCaptures), ["h"]);
      h = Array.from(await s.lastCaptures.h!.data());
    },
  };
  await fit(learn, 1, { lr: 0, callbacks: [probe] });
  assertEquals(h, [1, 5]);
  const missing = { name: "missing", captures: () => ["h", "nope"] };
  await assertRejects(
    () => fit(learn, 1, { callbacks: [missing] }),
    RangeError,
    "Cannot capture 'nope': the hand-written model's apply did not report it",
  );
  disposeLearner(learn);
  tf.dispose([w, x, y]);
});

Deno.test("captures: unknown layers and wrong kinds are refused before training", async () => {
  const { x, y } = data();
  const model = mlp(3);
  const learn = learner({ model, data: { train: batches(x, y) }, loss: mse });
  await assertRejects(
    () => fit(learn, 1, { callbacks: [{ name: "bad", captures: () => ["nope"] }] }),
    RangeError,
    "Cannot capture the output of layer 'nope': the model has no layer of that name (its layers: hidden3, drop3, out3)",
  );
  await assertRejects(
    () => fit(learn, 1, { callbacks: [{ name: "bad", captures: ["x"] as never }] }),
    TypeError,
    "Cannot use callback 'bad' as 'captures' must be a function of the learner",
  );
  disposeLearner(learn);
  model.dispose();
  tf.dispose([x, y]);
});
