import * as tf from "@tensorflow/tfjs";
import { assertAlmostEquals, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { interpret, plotConfusion, plotTopLosses } from "../../callbacks/interpret.ts";
import { batches } from "../../core/data.ts";
import { learner } from "../../core/learner.ts";
import { crossEntropy } from "../../core/losses.ts";
import { useCpu } from "../_helpers.ts";

await useCpu();

// Logits of 7 samples over 3 classes, and their labels. The "model" returns its input.
const LOGITS = [
  [3, 0, 0], // 0 -> 0
  [0, 2, 1], // 1 -> 1
  [1, 0, 2], // 0 -> 2
  [0, 0.5, 0], // 2 -> 1
  [0, 0, 4], // 2 -> 2
  [2, 1, 0], // 1 -> 0
  [0, 3, 0], // 2 -> 1
];
const LABELS = [0, 1, 0, 2, 2, 1, 2];
const identity = { variables: [], apply: (x: tf.Tensor | tf.Tensor[]) => tf.clone(x as tf.Tensor) };

/** Cross-entropy of one sample, in float64. */
function ce(logits: number[], label: number): number {
  const m = Math.max(...logits);
  const lse = m + Math.log(logits.reduce((s, v) => s + Math.exp(v - m), 0));
  return lse - logits[label]!;
}

function setup(batchSize: number, oneHot = false) {
  const x = tf.tensor2d(LOGITS);
  const y = oneHot ? tf.oneHot(tf.tensor1d(LABELS, "int32"), 3) : tf.tensor1d(LABELS, "int32");
  const learn = learner({
    model: identity,
    data: { train: [], valid: batches(x, y, { batchSize }) },
    loss: crossEntropy,
  });
  return { learn, dispose: () => tf.dispose([x, y]) };
}

Deno.test("interpret: confusion matrix, most confused and top losses against hand computations", async () => {
  const run = setup(3);
  const before = tf.memory().numTensors;
  const interp = await interpret(run.learn, { classes: ["a", "b", "c"], k: 4 });
  assertEquals(tf.memory().numTensors, before);
  assertEquals(interp.nSamples, 7);
  assertEquals(interp.confusion, [
    [1, 0, 1],
    [1, 1, 0],
    [0, 2, 1],
  ]);
  assertEquals(interp.mostConfused, [
    { actual: "c", predicted: "b", count: 2 },
    { actual: "a", predicted: "c", count: 1 },
    { actual: "b", predicted: "a", count: 1 },
  ]);
  const losses = LOGITS.map((l, i) => ({ i, loss: ce(l, LABELS[i]!) }))
    .sort((p, q) => q.loss - p.loss)
    .slice(0, 4);
  assertEquals(interp.topLosses.map((t) => t.index), losses.map((l) => l.i));
  interp.topLosses.forEach((t, r) => {
    assertAlmostEquals(t.loss, losses[r]!.loss, 1e-5);
    const logits = LOGITS[t.index]!;
    assertEquals([t.actual, t.predicted], [LABELS[t.index], logits.indexOf(Math.max(...logits))]);
    const z = logits.reduce((s, v) => s + Math.exp(v), 0);
    assertAlmostEquals(t.probability, Math.exp(Math.max(...logits)) / z, 1e-6);
    assertEquals(Array.from(t.input!.values), logits);
    assertEquals(t.input!.shape, [3]);
  });
  run.dispose();
});

Deno.test("interpret: one-hot targets, k above the sample count, and the same result whatever the batch size", async () => {
  const a = setup(2, true);
  const b = setup(7);
  const ia = await interpret(a.learn, { k: 20 });
  const ib = await interpret(b.learn, { k: 20 });
  assertEquals(ia.classes, ["0", "1", "2"]);
  assertEquals(ia.confusion, ib.confusion);
  assertEquals(ia.topLosses.length, 7);
  assertEquals(ia.topLosses.map((t) => t.index), ib.topLosses.map((t) => t.index));
  a.dispose();
  b.dispose();
});

Deno.test("interpret reads the device a fixed number of times, whatever the number of batches", async () => {
  const reads = async (batchSize: number): Promise<number> => {
    const run = setup(batchSize);
    const proto = tf.Tensor.prototype as unknown as { data: () => Promise<unknown> };
    const original = proto.data;
    let n = 0;
    proto.data = function (this: tf.Tensor) {
      n++;
      return original.call(this);
    };
    try {
      await interpret(run.learn, { k: 2 });
    } finally {
      proto.data = original;
    }
    run.dispose();
    return n;
  };
  const [one, seven] = [await reads(7), await reads(1)];
  assertEquals(one, seven);
  assertEquals(one, 7); // confusion, loss, index, actual, predicted, probability, input
});

Deno.test("interpret on images: the top losses keep their pictures, the grid embeds PNGs", async () => {
  // 6 images 4 x 4 x 1; class = whether the left half is brighter; a fixed linear "model"
  const images = tf.tidy(() => tf.randomUniform([6, 4, 4, 1], 0, 1, "float32", 3));
  const labels = tf.tensor1d([0, 1, 0, 1, 1, 0], "int32");
  const w = tf.variable(tf.randomNormal([16, 2], 0, 1, "float32", 4));
  const model = {
    variables: [w],
    apply: (x: tf.Tensor | tf.Tensor[]) => tf.matMul(tf.reshape(x as tf.Tensor, [-1, 16]), w),
  };
  const learn = learner({
    model,
    data: { train: [], valid: batches(images, labels, { batchSize: 4 }) },
    loss: crossEntropy,
  });
  const interp = await interpret(learn, { k: 3, classes: ["left", "right"] });
  const pixels = await images.data();
  for (const t of interp.topLosses) {
    assertEquals(t.input!.shape, [4, 4, 1]);
    assertEquals(
      Array.from(t.input!.values),
      Array.from(pixels.subarray(t.index * 16, t.index * 16 + 16)),
    );
  }
  const svg = plotTopLosses(interp).svg;
  const uris = [...svg.matchAll(/href="data:image\/png;base64,([^"]+)"/g)].map((m) => m[1]!);
  assertEquals(uris.length, 6); // href and xlink:href of 3 images
  const png = Uint8Array.from(atob(uris[0]!), (c) => c.charCodeAt(0));
  assertEquals(Array.from(png.subarray(1, 4)), [0x50, 0x4e, 0x47]); // "PNG"
  const ihdr = new DataView(png.buffer, 16, 8);
  assertEquals([ihdr.getUint32(0), ihdr.getUint32(4)], [4, 4]);
  assertStringIncludes(plotConfusion(interp).svg, ">right</text>");
  tf.dispose([images, labels, w]);
});

Deno.test("interpret refuses a learner without validation data and a wrong number of class names", async () => {
  const run = setup(3);
  await assertRejects(
    () => interpret(learner({ model: identity, data: { train: [] }, loss: crossEntropy })),
    TypeError,
    "'data.valid' is undefined",
  );
  const before = tf.memory().numTensors;
  await assertRejects(
    () => interpret(run.learn, { classes: ["a", "b"] }),
    RangeError,
    "'classes' must name the model's 3 classes: it has 2",
  );
  assertEquals(tf.memory().numTensors, before);
  run.dispose();
});
