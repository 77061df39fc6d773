import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertNotEquals, assertThrows } from "@std/assert";
import type { Callback } from "../../core/callback.ts";
import { balancedWeights, batches } from "../../core/data.ts";
import { fit } from "../../core/fit.ts";
import { disposeLearner, learner } from "../../core/learner.ts";
import { crossEntropy } from "../../core/losses.ts";
import { epochBatches, type LoopBatch } from "../../core/_epoch.ts";
import { sgd } from "../../optim/sgd.ts";
import { useCpu } from "../_helpers.ts";

await useCpu();

async function drawn(
  b: ReturnType<typeof batches>,
  epoch: number,
  seed = 0,
  skip = 0,
): Promise<number[]> {
  const it = epochBatches(b, epoch, seed, skip) as Iterator<LoopBatch>;
  const out: number[] = [];
  for (let r = it.next(); !r.done; r = it.next()) {
    out.push(...Array.from(await (r.value.input as tf.Tensor).data()));
    tf.dispose([r.value.input as tf.Tensor, r.value.target]);
  }
  return out;
}

Deno.test("weights: samples are drawn in proportion, zero-weight ones never", async () => {
  const x = tf.tensor1d([0, 1, 2]);
  const y = tf.tensor1d([0, 1, 2]);
  const b = batches(x, y, { batchSize: 100, weights: [1, 0, 3], samplesPerEpoch: 4000 });
  assertEquals([b.length, b.samplesPerEpoch, b.nSamples], [40, 4000, 3]);
  const values = await drawn(b, 0, 7);
  assertEquals(values.length, 4000);
  const counts = [0, 1, 2].map((v) => values.filter((d) => d === v).length);
  assertEquals(counts[1], 0);
  // binomial(4000, 1/4): mean 1000, sd sqrt(4000 * 0.25 * 0.75) = 27.4; 4 sd
  assert(Math.abs(counts[0]! - 1000) < 110, `class 0 drawn ${counts[0]} times`);
  assertEquals(counts[0]! + counts[2]!, 4000);
  tf.dispose([x, y]);
});

Deno.test("weights: draws repeat for a seed and epoch, differ across epochs, and resume mid-epoch", async () => {
  const x = tf.range(0, 50);
  const y = tf.range(0, 50);
  const w = Array.from({ length: 50 }, (_, i) => i + 1);
  const b = batches(x, y, { batchSize: 8, weights: w });
  assertEquals(b.length, 7); // 50 draws by default
  const e0 = await drawn(b, 0, 3);
  assertEquals(await drawn(b, 0, 3), e0);
  assertNotEquals(await drawn(b, 1, 3), e0);
  assertNotEquals(await drawn(b, 0, 4), e0);
  assertEquals(await drawn(b, 0, 3, 2), e0.slice(16));
  // a seed of its own wins over the fit's
  const own = batches(x, y, { batchSize: 8, weights: w, seed: 3 });
  assertEquals(await drawn(own, 0, 99), e0);
  tf.dispose([x, y]);
});

Deno.test("balancedWeights: inverse class frequencies, nClasses x the largest class per epoch", () => {
  const { weights, samplesPerEpoch } = balancedWeights([2, 0, 0, 2, 2, 2, 1]);
  assertEquals(Array.from(weights), [1 / 4, 1 / 2, 1 / 2, 1 / 4, 1 / 4, 1 / 4, 1]);
  assertEquals(samplesPerEpoch, 12);
  assertThrows(() => balancedWeights([0, 1.5]), RangeError, "labels[1] is 1.5");
  assertThrows(() => balancedWeights([]), RangeError, "'labels' is empty");
});

Deno.test("weights are checked, and batches() frees what it made when it refuses", () => {
  const before = tf.memory().numTensors;
  const x = new Float32Array([1, 2, 3]);
  assertThrows(() => batches(x, x, { weights: [1, 2] }), RangeError, "has length 2");
  assertThrows(() => batches(x, x, { weights: [1, -1, 2] }), RangeError, "weights[1] = -1");
  assertThrows(() => batches(x, x, { weights: [0, 0, 0] }), RangeError, "not all zero");
  assertThrows(
    () => batches(x, x, { weights: [1, 1, 1], samplesPerEpoch: 0 }),
    RangeError,
    "'samplesPerEpoch'",
  );
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("oversampling in a fit: an imbalanced problem is seen balanced (fastai's OverSamplingCallback)", async () => {
  // 90 samples of class 0, 10 of class 1
  const labels = Int32Array.from({ length: 100 }, (_, i) => (i < 90 ? 0 : 1));
  const x = tf.tidy(() => tf.expandDims(tf.cast(tf.tensor1d(labels), "float32"), 1));
  const y = tf.tensor1d(labels, "int32");
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [1] })] });
  const learn = learner({
    model,
    data: { train: batches(x, y, { batchSize: 20, ...balancedWeights(labels), seed: 1 }) },
    loss: crossEntropy,
    optimizer: sgd(),
  });
  const seen = [0, 0];
  const count: Callback = {
    name: "count",
    onBatchBegin: async (s) => {
      if (!s.train) return;
      for (const v of await s.lastTarget!.data()) seen[v]!++;
    },
  };
  const before = tf.memory().numTensors;
  const { history } = await fit(learn, 3, { lr: 0.1, callbacks: [count] });
  assertEquals(history.nBatches, [9, 9, 9]); // 2 x 90 draws per epoch, 20 a batch
  assertEquals(seen[0]! + seen[1]!, 540);
  // each class with probability 1/2: 270 expected, sd sqrt(540 / 4) = 11.6
  assert(Math.abs(seen[1]! - 270) < 47, `class 1 drawn ${seen[1]} times of 540`);
  disposeLearner(learn);
  assertEquals(tf.memory().numTensors, before);
  tf.dispose([x, y]);
  model.dispose();
});
