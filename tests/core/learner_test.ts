import * as tf from "@tensorflow/tfjs";
import { assertEquals, assertThrows } from "@std/assert";
import { learner } from "../../core/learner.ts";
import { trainableParams } from "../../core/_params.ts";
import { mse } from "../../core/losses.ts";
import { sgd } from "../../optim/sgd.ts";
import { mlp, useCpu } from "../_helpers.ts";

await useCpu();

Deno.test("learner() refuses what is not a model, data or loss", () => {
  assertThrows(
    () => learner({ model: {} as never, data: { train: [] }, loss: mse }),
    TypeError,
    "'model'",
  );
  const model = mlp();
  assertThrows(() => learner({ model, data: {} as never, loss: mse }), TypeError, "'data.train'");
  assertThrows(
    () => learner({ model, data: { train: [] }, loss: 3 as never }),
    TypeError,
    "'loss'",
  );
  model.dispose();
});

Deno.test("learner() defaults: adam, lr 1e-3, wd 0, true weight decay, one layer group", () => {
  const model = mlp();
  const learn = learner({ model, data: { train: [] }, loss: mse });
  assertEquals([learn.optimizer.name, learn.lr, learn.wd, learn.trueWd], ["adam", 1e-3, 0, true]);
  const { params, nGroups } = trainableParams(learn);
  assertEquals(nGroups, 1);
  assertEquals(params.length, 4);
  model.dispose();
});

Deno.test("a LayersModel split gives layer groups; bnWd: false exempts biases and norms", () => {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ units: 4, inputShape: [2] }),
      tf.layers.batchNormalization(),
      tf.layers.dense({ units: 2 }),
    ],
  });
  const learn = learner({
    model,
    data: { train: [] },
    loss: mse,
    optimizer: sgd(),
    bnWd: false,
    layerGroups: { splitAt: [1] },
  });
  const { params, nGroups } = trainableParams(learn);
  assertEquals(nGroups, 2);
  const view = params.map((p) => `${p.variable.name.split("/").at(-1)}:${p.group}:${p.decay}`);
  assertEquals(view, [
    "kernel:0:true",
    "bias:0:false",
    "gamma:1:false",
    "beta:1:false",
    "kernel:1:true",
    "bias:1:false",
  ]);
  model.dispose();
});

Deno.test("frozen layers are not trained", () => {
  const model = mlp();
  model.layers[0]!.trainable = false;
  const learn = learner({ model, data: { train: [] }, loss: mse });
  assertEquals(trainableParams(learn).params.length, 2);
  model.dispose();
});
