// ema(): the average against a float64 hand computation, validation with it, the live
// weights back bit for bit, snapshots/resume, and the copies freed at the end and on errors.
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertNotEquals, assertRejects, assertThrows } from "@std/assert";
import type { Callback } from "../../core/callback.ts";
import { ema, type EmaMemory } from "../../callbacks/ema.ts";
import { fit } from "../../core/fit.ts";
import { disposeLearner, learner } from "../../core/learner.ts";
import { crossEntropy, mse } from "../../core/losses.ts";
import { sgd } from "../../optim/sgd.ts";
import { blobs, disposeBatches, mlp, useCpu } from "../_helpers.ts";
import { close, grad, linear, linearData, type P, paramsOf } from "../_linear.ts";
import { interruptedVersusNot, weightsOf } from "../_resume.ts";

await useCpu();

const LR = 0.1;

/** Plain SGD on the three batches for `epochs` epochs, in float64: the weights after each step. */
function sgdPath(epochs: number, start: P = [0.5, -0.25, 0.1]): P[] {
  const path: P[] = [start];
  let p = start;
  for (let e = 0; e < epochs; e++) {
    for (let i = 0; i < 3; i++) {
      const g = grad(p, i);
      p = [p[0] - LR * g[0], p[1] - LR * g[1], p[2] - LR * g[2]];
      path.push(p);
    }
  }
  return path;
}

Deno.test("ema() is decay * avg + (1 - decay) * w after every `every`-th step, from the first weights (float64 by hand)", async () => {
  for (const every of [1, 2]) {
    const data = linearData();
    const model = linear();
    const learn = learner({ model, data: { train: data.batches }, loss: mse, optimizer: sgd() });
    const before = tf.memory().numTensors;
    const { state } = await fit(learn, 2, { lr: LR, callbacks: [ema({ decay: 0.8, every })] });
    disposeLearner(learn);
    assertEquals(tf.memory().numTensors, before);
    const path = sgdPath(2);
    let avg: number[] = [...path[0]!];
    for (let step = 1; step < path.length; step++) {
      if (step % every === 0) avg = avg.map((a, j) => 0.8 * a + 0.2 * path[step]![j]!);
    }
    close(await paramsOf(model), avg); // emaAtEnd: the model holds the average
    assertEquals(state.memory.ema, { steps: 6 } satisfies EmaMemory); // no tensors kept
    model.dispose();
    data.dispose();
  }
});

Deno.test("ema({ emaAtEnd: false }) leaves the live weights exactly as a run without it", async () => {
  const runs: Float32Array[][] = [];
  for (const callbacks of [[], [ema({ decay: 0.5, emaAtEnd: false })]]) {
    const train = blobs(64, 3, 16);
    const valid = blobs(32, 4, 16);
    const model = mlp(5);
    const learn = learner({ model, data: { train, valid }, loss: crossEntropy, optimizer: sgd() });
    await fit(learn, 3, { lr: 0.1, callbacks });
    runs.push(await weightsOf(learn));
    disposeLearner(learn);
    disposeBatches(train, valid);
    model.dispose();
  }
  assertEquals(runs[1], runs[0]); // validation swapped the weights in and out 3 times
});

Deno.test("ema() validates with the average: the validation loss is the average's, by hand", async () => {
  const data = linearData();
  const model = linear();
  const [vx, vy] = [tf.tensor2d([[1, 1], [2, -1]]), tf.tensor2d([[0.5], [0]])];
  const learn = learner({
    model,
    data: { train: data.batches, valid: [[vx, vy]] },
    loss: mse,
    optimizer: sgd(),
  });
  const seen: { train: boolean; p: number[] }[] = [];
  const probe: Callback = {
    name: "probe",
    order: 9_500, // after ema's swap in onBatchBegin and its restore in onEpochEnd
    onBatchBegin: async (s) => void seen.push({ train: s.train, p: await paramsOf(model) }),
    onEpochEnd: async () => void seen.push({ train: true, p: await paramsOf(model) }),
  };
  const { history } = await fit(learn, 2, {
    lr: LR,
    callbacks: [ema({ decay: 0.5, emaAtEnd: false }), probe],
  });
  const path = sgdPath(2);
  let avg: number[] = [...path[0]!];
  const avgs: number[][] = [];
  for (let step = 1; step < path.length; step++) {
    avg = avg.map((a, j) => 0.5 * a + 0.5 * path[step]![j]!);
    if (step % 3 === 0) avgs.push(avg);
  }
  const validSeen = seen.filter((x) => !x.train);
  assertEquals(validSeen.length, 2);
  validSeen.forEach((v, e) => close(v.p, avgs[e]!));
  // after validation (onEpochEnd) the live weights are back
  close(seen[4]!.p, path[3]!);
  close(await paramsOf(model), path[6]!);
  const lossAt = (p: number[]) =>
    [[[1, 1], 0.5], [[2, -1], 0]].reduce(
      (sum, [x, y]) =>
        sum +
        ((x as number[])[0]! * p[0]! + (x as number[])[1]! * p[1]! + p[2]! - (y as number)) ** 2 /
          2,
      0,
    );
  history.valLosses.forEach((v, e) => close([v], [lossAt(avgs[e]!)]));
  disposeLearner(learn);
  model.dispose();
  data.dispose();
  tf.dispose([vx, vy]);
});

Deno.test("ema() resumed from a mid-epoch snapshot continues the same average, bit for bit", async () => {
  const { straight, resumed, a, b } = await interruptedVersusNot({
    setup(init) {
      const train = blobs(64, 11, 16);
      const valid = blobs(32, 12, 16);
      const model = mlp(init);
      const learn = learner({
        model,
        data: { train, valid },
        loss: crossEntropy,
        optimizer: sgd(),
      });
      return {
        learn,
        dispose: () => (disposeLearner(learn), disposeBatches(train, valid), model.dispose()),
      };
    },
    epochs: 3,
    callbacks: () => [ema({ decay: 0.7, every: 3 })],
    options: { lr: 0.2 },
    at: 5, // inside epoch 1, between two updates (every 3)
    read: (learn) => weightsOf(learn),
  });
  assertEquals(resumed, straight); // the average left in the model
  assertEquals(b.history, a.history); // validation with the average, epoch by epoch
  assertEquals(b.state.memory.ema, a.state.memory.ema);
});

Deno.test("ema() frees its copies and puts the live weights back after an error in training or validation", async () => {
  for (const where of ["train", "valid"] as const) {
    const train = blobs(64, 21, 16);
    const valid = blobs(32, 22, 16);
    const model = mlp(2);
    const learn = learner({ model, data: { train, valid }, loss: crossEntropy, optimizer: sgd() });
    let live: Float32Array[] | undefined;
    let validated: Float32Array[] | undefined;
    const bomb: Callback = {
      name: "bomb",
      async onBatchEnd(s) {
        if (s.train) live = await weightsOf(learn); // the live weights after each step
        else validated = await weightsOf(learn);
        if (s.epoch === 1 && (where === "train" ? s.train && s.numBatch === 2 : !s.train)) {
          throw new Error("boom");
        }
      },
    };
    const before = tf.memory().numTensors;
    await assertRejects(
      () => fit(learn, 3, { lr: 0.1, callbacks: [ema({ decay: 0.5 }), bomb] }),
      Error,
      "boom",
    );
    disposeLearner(learn);
    assertEquals(tf.memory().numTensors, before, where);
    assertEquals(await weightsOf(learn), live, where);
    assertNotEquals(validated, live); // validation ran on the average
    disposeBatches(train, valid);
    model.dispose();
  }
});

Deno.test("ema() checks its options", () => {
  assertThrows(() => ema({ decay: 1 }), RangeError, "'decay' must be in [0, 1)");
  assertThrows(() => ema({ every: 0 }), RangeError, "'every' must be a positive integer");
  assert(ema().order! < 10_000); // before snapshotEvery
});
