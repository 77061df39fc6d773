// The randomness contract of a fit: every draw (the shuffle of `batches()` without a seed of
// its own, the Dropout masks) is a function of the run's seed and the counters. Same seed:
// the same run; another seed: other shuffles and masks; draws change from batch to batch
// and epoch to epoch; a resumed run draws what the uninterrupted one drew.
//
// The probe model is Dropout(0.5) then a dense layer fixed at the identity (lr 0), and
// sample i's features are all i + 1: a batch's input says the shuffle (which samples, in
// which order) and its output says the mask (0 where dropped, 2 (i + 1) where kept).
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertNotEquals } from "@std/assert";
import type { Callback } from "../../core/callback.ts";
import { batches } from "../../core/data.ts";
import { fit, type FitOptions } from "../../core/fit.ts";
import { disposeLearner, learner } from "../../core/learner.ts";
import { mse } from "../../core/losses.ts";
import type { History } from "../../core/recorder.ts";
import { endBatch, type TrainState } from "../../core/state.ts";
import { sgd } from "../../optim/sgd.ts";
import { useCpu } from "../_helpers.ts";

await useCpu();

const N = 16; // samples
const F = 24; // features: a whole row dropped has probability 2^-24
const BATCH = 4;
const EPOCHS = 3;

interface Draws {
  /** Per training batch (in iteration order): the sample ids, in order. */
  readonly orders: number[][];
  /** Per training batch: the dropout mask as a string of 0/1, row by row. */
  readonly masks: string[];
  /** The state after the batch with iteration `captureAt`, ready to resume from. */
  readonly captured: TrainState | undefined;
  /** The recorded history (losses per batch). */
  readonly history: History;
}

function probe(): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.dropout({ rate: 0.5, inputShape: [F] }),
      tf.layers.dense({ units: F, useBias: false, kernelInitializer: "identity" }),
    ],
  });
}

/** Runs the probe and records each training batch's shuffle and dropout mask. */
async function draws(options: FitOptions, captureAt = -1): Promise<Draws> {
  const x = tf.tidy(() => tf.tile(tf.range(1, N + 1).reshape([N, 1]), [1, F]));
  const model = probe();
  const learn = learner({
    model,
    data: { train: batches(x, x, { batchSize: BATCH, shuffle: true }) },
    loss: mse,
    optimizer: sgd(),
    lr: 0,
  });
  const orders: number[][] = [];
  const masks: string[] = [];
  let captured: TrainState | undefined;
  const spy: Callback = {
    name: "spy",
    async onBatchEnd(s) {
      if (!s.train) return;
      const input = await (s.lastInput as tf.Tensor).array() as number[][];
      const output = await s.lastOutput!.array() as number[][];
      orders.push(input.map((row) => row[0]! - 1));
      masks.push(output.map((row) => row.map((v) => (v === 0 ? 0 : 1)).join("")).join("|"));
      output.forEach((row, r) => {
        for (const v of row) assert(v === 0 || v === 2 * input[r]![0]!, `output ${v}`);
      });
      if (s.iteration === captureAt) captured = endBatch(s);
    },
  };
  const before = tf.memory().numTensors;
  const { history } = await fit(learn, EPOCHS, { ...options, callbacks: [spy] });
  disposeLearner(learn);
  assertEquals(tf.memory().numTensors, before);
  model.dispose();
  x.dispose();
  return { orders, masks, captured, history };
}

const perEpoch = N / BATCH;
const epochOrder = (d: Draws, e: number): number[] =>
  d.orders.slice(e * perEpoch, (e + 1) * perEpoch).flat();

Deno.test("the same seed gives the same shuffles and dropout masks, batch for batch", async () => {
  const a = await draws({ seed: 7 });
  const b = await draws({ seed: 7 });
  assertEquals(a.orders.length, EPOCHS * perEpoch);
  assertEquals(b.orders, a.orders);
  assertEquals(b.masks, a.masks);
  assertEquals(b.history, a.history);
  // each epoch visits every sample once
  for (let e = 0; e < EPOCHS; e++) {
    assertEquals(epochOrder(a, e).sort((p, q) => p - q), Array.from({ length: N }, (_, i) => i));
  }
});

Deno.test("another seed gives other shuffles and other dropout masks", async () => {
  const a = await draws({ seed: 7 });
  const b = await draws({ seed: 8 });
  const c = await draws({}); // the default seed
  for (const other of [b, c]) {
    for (let e = 0; e < EPOCHS; e++) assertNotEquals(epochOrder(other, e), epochOrder(a, e));
    // masks of 4 x 24 bits: equal by chance with probability 2^-96 per batch
    other.masks.forEach((m, i) => assertNotEquals(m, a.masks[i], `batch ${i}`));
  }
});

Deno.test("dropout masks change from batch to batch and epoch to epoch; shuffles from epoch to epoch", async () => {
  const a = await draws({ seed: 3 });
  assertEquals(new Set(a.masks).size, a.masks.length);
  for (let e = 1; e < EPOCHS; e++) assertNotEquals(epochOrder(a, e), epochOrder(a, 0));
  // the same position in two epochs draws a different mask
  assertNotEquals(a.masks[perEpoch], a.masks[0]);
  // and a mask is not the same pattern for every sample of a batch
  for (const m of a.masks) assert(new Set(m.split("|")).size > 1, m);
});

Deno.test("a run resumed mid-epoch draws exactly the shuffles and masks of the uninterrupted run", async () => {
  // capture after iteration 5: epoch 1, its second batch done
  const a = await draws({ seed: 11 }, 5);
  assert(a.captured);
  assertEquals([a.captured.epoch, a.captured.numBatch, a.captured.iteration], [1, 2, 6]);
  const b = await draws({ resume: a.captured });
  assertEquals(b.orders, a.orders.slice(6));
  assertEquals(b.masks, a.masks.slice(6));
  // the seed comes from the state: a seed given with resume does not replace it
  const c = await draws({ resume: a.captured, seed: 99 });
  assertEquals(c.masks, a.masks.slice(6));
});
