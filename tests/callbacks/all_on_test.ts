// Every callback of the library on at once in real fits: no tensor growth between fits,
// the learner's optimizer state excepted, and nothing left after it is disposed.
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals } from "@std/assert";
import {
  accumulateGradients,
  csvLogger,
  earlyStopping,
  fitOneCycle,
  gradientClipping,
  lrFind,
  mixUp,
  progressBar,
  reduceLROnPlateau,
  saveModel,
  terminateOnNaN,
  timeLimit,
} from "../../callbacks/mod.ts";
import { fit } from "../../core/fit.ts";
import { disposeLearner, learner } from "../../core/learner.ts";
import { crossEntropy } from "../../core/losses.ts";
import { accuracy } from "../../core/metrics.ts";
import { blobs, disposeBatches, mlp, useCpu } from "../_helpers.ts";

await useCpu();

Deno.test("all callbacks together: no tensor growth across fits", async () => {
  const dir = await Deno.makeTempDir();
  const train = blobs(192, 81);
  const valid = blobs(64, 82);
  const model = mlp(17);
  let out = "";
  const stream = { write: (t: string) => void (out += t), isTerminal: () => true };
  const callbacks = () => [
    mixUp(),
    gradientClipping({ clip: 1 }),
    accumulateGradients({ nStep: 2 }),
    terminateOnNaN(),
    timeLimit({ seconds: 600 }),
    earlyStopping({ monitor: "accuracy", patience: 3, restoreBest: true }),
    saveModel({ dir: `${dir}/best`, monitor: "accuracy" }),
    csvLogger({ path: `${dir}/history.csv` }),
    progressBar({ stream, refreshMs: 0 }),
  ];
  const learn = learner({ model, data: { train, valid }, loss: crossEntropy, metrics: [accuracy] });
  const before = tf.memory().numTensors;
  await fitOneCycle(learn, 2, { lrMax: 1e-2, callbacks: callbacks() });
  const afterFirst = tf.memory().numTensors;
  assertEquals(afterFirst, before + 8); // Adam's two slots for each of 4 variables
  await fitOneCycle(learn, 3, { lrMax: 1e-2, callbacks: callbacks() });
  await fit(learn, 2, { callbacks: [...callbacks(), reduceLROnPlateau({ patience: 0 })] });
  await lrFind(learn, { numIt: 12, callbacks: [gradientClipping({ clip: 1 })] });
  assertEquals(tf.memory().numTensors, afterFirst);
  disposeLearner(learn);
  assertEquals(tf.memory().numTensors, before);
  const csv = (await Deno.readTextFile(`${dir}/history.csv`)).trim().split("\n");
  assertEquals(csv[0], "epoch,trainLoss,validLoss,accuracy,time");
  assert(out.includes("trainLoss"));
  disposeBatches(train, valid);
  model.dispose();
  await Deno.remove(dir, { recursive: true });
});
