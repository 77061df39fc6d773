// cutMix(): the pasted boxes read back from constant images, the box sides, the loss
// weighted by area against float64 (with label smoothing inside), validation untouched,
// seeded draws (a resumed run is bit-identical), errors.
import * as tf from "@tensorflow/tfjs";
import {
  assert,
  assertEquals,
  assertNotEquals,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import type { Callback } from "../../core/callback.ts";
import { cutMix, type CutMixMemory } from "../../callbacks/cut_mix.ts";
import { labelSmoothingCrossEntropy } from "../../callbacks/label_smoothing.ts";
import { batches } from "../../core/data.ts";
import { fit } from "../../core/fit.ts";
import { disposeLearner, type Learner, learner } from "../../core/learner.ts";
import { crossEntropy } from "../../core/losses.ts";
import type { LossFn } from "../../core/types.ts";
import { sgd } from "../../optim/sgd.ts";
import { useCpu } from "../_helpers.ts";
import { close } from "../_linear.ts";
import { interruptedVersusNot, weightsOf } from "../_resume.ts";

await useCpu();

const [H, W] = [8, 10];

/** `n` images [H, W, 2]: image i is i + 1 in channel 0 and -(i + 1) in channel 1; label i % 3. */
function images(
  n: number,
  loss: LossFn = crossEntropy,
  init = 1,
): { learn: Learner; dispose(): void } {
  const x = tf.tidy(() =>
    tf.concat(
      Array.from({ length: n }, (_, i) =>
        tf.stack([tf.fill([H, W], i + 1), tf.fill([H, W], -(i + 1))], -1).expandDims(0)),
    )
  );
  const y = tf.tensor1d(Array.from({ length: n }, (_, i) => i % 3), "int32");
  const model = tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [H, W, 2] }),
      tf.layers.dense({
        units: 3,
        kernelInitializer: tf.initializers.glorotUniform({ seed: init }),
      }),
    ],
  });
  const learn = learner({
    model,
    data: {
      train: batches(x, y, { batchSize: 6, shuffle: true }),
      valid: batches(x, y, { batchSize: 6 }),
    },
    loss,
    optimizer: sgd(),
  });
  return { learn, dispose: () => (disposeLearner(learn), tf.dispose([x, y]), model.dispose()) };
}

interface Seen {
  x: number[][][][];
  target: number[][];
  memory: CutMixMemory;
}

function probe(seen: Seen[]): Callback {
  return {
    name: "probe",
    order: 1,
    onBatchBegin(s) {
      if (!s.train) return;
      seen.push({
        x: (s.lastInput as tf.Tensor).arraySync() as number[][][][],
        target: s.lastTarget!.arraySync() as number[][],
        memory: s.memory.cutMix as CutMixMemory,
      });
    },
  };
}

Deno.test("cutMix() pastes the same box of a partner image into each image; lambda is the share kept", async () => {
  const before = tf.memory().numTensors;
  const run = images(12);
  const seen: Seen[] = [];
  await fit(run.learn, 3, { lr: 0.01, callbacks: [cutMix(), probe(seen)] });
  assertEquals(seen.length, 6);
  for (const { x, target, memory } of seen) {
    const [top, left, bottom, right] = memory.box;
    assert(0 <= top && top <= bottom && bottom <= H && 0 <= left && left <= right && right <= W);
    assertEquals(memory.lambda, 1 - ((bottom - top) * (right - left)) / (H * W));
    const own: number[] = [];
    const partner: number[] = [];
    x.forEach((img) => {
      const inBox = (r: number, c: number) => r >= top && r < bottom && c >= left && c < right;
      const outside = img.flatMap((row, r) => row.filter((_, c) => !inBox(r, c)));
      const inside = img.flatMap((row, r) => row.filter((_, c) => inBox(r, c)));
      own.push(outside[0]?.[0] ?? NaN);
      partner.push(inside[0]?.[0] ?? NaN);
      for (const px of outside) assertEquals(px, [own.at(-1)!, -own.at(-1)!]);
      for (const px of inside) assertEquals(px, [partner.at(-1)!, -partner.at(-1)!]);
    });
    if (memory.lambda < 1 && memory.lambda > 0) {
      assertEquals([...partner].sort(), [...own].sort()); // a pairing within the batch
      assertEquals(target, [own.map((v) => (v - 1) % 3), partner.map((v) => (v - 1) % 3)]);
    }
  }
  assert(new Set(seen.map((s) => s.memory.lambda)).size > 1);
  run.dispose();
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("cutMix()'s box has sides floor(H sqrt(1 - l)) and floor(W sqrt(1 - l)) (halves, clipped): l = 0.5 for a huge alpha", async () => {
  const run = images(12);
  const seen: Seen[] = [];
  await fit(run.learn, 5, { lr: 0.01, callbacks: [cutMix({ alpha: 1e5 }), probe(seen)] });
  for (const { memory: { box: [top, left, bottom, right] } } of seen) {
    // floor(8 * 0.707) = 5, half 2: height 4; floor(10 * 0.707) = 7, half 3: width 6
    assert(bottom - top === 4 || top === 0 || bottom === H, `rows ${top}..${bottom}`);
    assert(right - left === 6 || left === 0 || right === W, `columns ${left}..${right}`);
  }
  assert(seen.some(({ memory: { box } }) => box[2] - box[0] === 4 && box[3] - box[1] === 6));
  run.dispose();
});

Deno.test("cutMix()'s loss is lambda loss(out, y) + (1 - lambda) loss(out, y[perm]) with the inner loss (float64 by hand)", async () => {
  const eps = 0.1;
  const run = images(12, labelSmoothingCrossEntropy({ eps }));
  const checks: [number, number][] = [];
  const check: Callback = {
    name: "check",
    onBackwardBegin(s) {
      const out = s.lastOutput!.arraySync() as number[][];
      const [y, yp] = s.lastTarget!.arraySync() as number[][];
      const lambda = (s.memory.cutMix as CutMixMemory).lambda;
      const ls = (row: number[], label: number) => {
        const max = Math.max(...row);
        const lse = max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0));
        const nl = row.map((v) => lse - v);
        return (1 - eps) * nl[label]! + (eps / row.length) * nl.reduce((a, v) => a + v, 0);
      };
      const mean = (labels: number[]) =>
        out.reduce((a, row, i) => a + ls(row, labels[i]!), 0) / out.length;
      checks.push([s.lastLoss!.dataSync()[0]!, lambda * mean(y!) + (1 - lambda) * mean(yp!)]);
    },
  };
  await fit(run.learn, 2, { lr: 0.1, callbacks: [cutMix(), check] });
  assertEquals(checks.length, 4);
  for (const [got, expected] of checks) close([got], [expected], 1e-6);
  run.dispose();
});

Deno.test("cutMix() leaves validation alone and puts the loss back at the end and after an error", async () => {
  const run = images(12);
  const seen: { train: boolean; shape: number[]; loss: LossFn }[] = [];
  const look: Callback = {
    name: "look",
    order: 1,
    onBatchBegin: (s) =>
      void seen.push({ train: s.train, shape: s.lastTarget!.shape, loss: s.loss }),
  };
  const { state } = await fit(run.learn, 2, { callbacks: [cutMix(), look] });
  assertEquals(seen.filter((x) => x.train).map((x) => x.shape), [[2, 6], [2, 6], [2, 6], [2, 6]]);
  for (const v of seen.filter((x) => !x.train)) {
    assertEquals(v.shape, [6]);
    assertStrictEquals(v.loss, crossEntropy);
  }
  assertStrictEquals(state.loss, crossEntropy);
  let atEnd: LossFn | undefined;
  await assertRejects(() =>
    fit(run.learn, 2, {
      callbacks: [
        cutMix(),
        {
          name: "bomb",
          onBatchEnd: (s) => {
            if (s.train && s.numBatch === 1) throw new Error("boom");
          },
          onTrainEnd: (s) => void (atEnd = s.loss),
        },
      ],
    })
  );
  assertStrictEquals(atEnd, crossEntropy);
  run.dispose();
});

Deno.test("cutMix()'s draws follow the seed and the counters: a resumed run is bit-identical", async () => {
  const boxes = async (seed: number | undefined, runSeed: number) => {
    const run = images(12);
    const seen: Seen[] = [];
    await fit(run.learn, 2, {
      seed: runSeed,
      callbacks: [cutMix(seed === undefined ? {} : { seed }), probe(seen)],
    });
    run.dispose();
    return seen.map((s) => s.memory);
  };
  assertEquals(await boxes(undefined, 3), await boxes(undefined, 3));
  assertNotEquals(await boxes(undefined, 3), await boxes(undefined, 4));
  assertEquals(await boxes(5, 3), await boxes(5, 4)); // its own seed wins
  const { straight, resumed, a, b } = await interruptedVersusNot({
    setup: (init) => images(18, crossEntropy, init),
    epochs: 3,
    callbacks: () => [cutMix()],
    options: { lr: 0.05 },
    at: 4, // epoch 1, batch 1
    read: (learn) => weightsOf(learn),
  });
  assertEquals(resumed, straight);
  assertEquals(b.history, a.history);
});

Deno.test("cutMix() checks alpha and wants one image tensor", async () => {
  assertThrows(() => cutMix({ alpha: 0 }), RangeError, "'alpha' must be a positive number");
  const x = tf.ones([4, 3]);
  const y = tf.tensor1d([0, 1, 0, 1], "int32");
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3] })] });
  const learn = learner({ model, data: { train: [[x, y]] }, loss: crossEntropy });
  await assertRejects(
    () => fit(learn, 1, { callbacks: [cutMix()] }),
    RangeError,
    "current shape is [4,3]",
  );
  disposeLearner(learn);
  tf.dispose([x, y]);
  model.dispose();
});
