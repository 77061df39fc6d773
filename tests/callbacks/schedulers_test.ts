// oneCycle / fitOneCycle, paramScheduler, generalScheduler and the conflict check.
import * as tf from "@tensorflow/tfjs";
import { assertAlmostEquals, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { dryRun } from "../../core/dry_run.ts";
import { generalScheduler } from "../../callbacks/general_scheduler.ts";
import { fitOneCycle, oneCycle } from "../../callbacks/one_cycle.ts";
import { paramScheduler } from "../../callbacks/param_scheduler.ts";
import { fit } from "../../core/fit.ts";
import { disposeLearner, learner } from "../../core/learner.ts";
import { crossEntropy } from "../../core/losses.ts";
import { prepareCallbacks } from "../../core/handler.ts";
import { annealingCos, annealingLinear, annealingNo } from "../../schedules/annealing.ts";
import { blobs, disposeBatches, mlp, useCpu } from "../_helpers.ts";

await useCpu();

const cos = (s: number, e: number, p: number) => e + (s - e) / 2 * (Math.cos(Math.PI * p) + 1);
function oneCycleLr(lrMax: number, pct: number, pctStart = 0.3): number {
  return pct < pctStart
    ? cos(lrMax / 25, lrMax, pct / pctStart)
    : cos(lrMax, lrMax / 25e4, (pct - pctStart) / (1 - pctStart));
}
function oneCycleMom(pct: number, pctStart = 0.3): number {
  return pct < pctStart
    ? cos(0.95, 0.85, pct / pctStart)
    : cos(0.85, 0.95, (pct - pctStart) / (1 - pctStart));
}

// At 10 batches and pctStart 0.3 the rise is 3 whole batches: the v1 split (the default) and
// the continuous one agree, so this formula at i / n holds for both. Where they differ (3 x 7
// batches): fastai_v1_test.ts.
Deno.test("fitOneCycle() sets every batch's lr and momentum from the one-cycle formula at i / n", async () => {
  const train = blobs(160, 41); // 5 batches of 32
  const model = mlp();
  const learn = learner({ model, data: { train }, loss: crossEntropy });
  const { history } = await fitOneCycle(learn, 2, { lrMax: 0.01 });
  assertEquals(history.lrs.length, 10);
  history.lrs.forEach((lr, i) =>
    assertAlmostEquals(lr, oneCycleLr(0.01, i / 10), 1e-12, `lr ${i}`)
  );
  history.moms.forEach((m, i) => assertAlmostEquals(m, oneCycleMom(i / 10), 1e-12, `mom ${i}`));
  disposeLearner(learn);
  disposeBatches(train);
  model.dispose();
});

Deno.test("oneCycle() with lrMax per layer group schedules each group", async () => {
  const run = await dryRun([oneCycle({ lrMax: [0.001, 0.01] })], {
    epochs: 1,
    batchesPerEpoch: 10,
    hypers: [0, 1].map(() => ({ lr: 0, mom: 0, sqrMom: 0.99, eps: 1e-7, wd: 0 })),
  });
  assertAlmostEquals(run.hypers[3]![0]!.lr, oneCycleLr(0.001, 0.3), 1e-12);
  assertAlmostEquals(run.hypers[3]![1]!.lr, oneCycleLr(0.01, 0.3), 1e-12);
});

Deno.test("paramScheduler() schedules any hyper-parameter over the whole fit", async () => {
  const run = await dryRun(
    [paramScheduler({ wd: annealingLinear(0, 0.4), mom: annealingNo(0.5) })],
    {
      epochs: 2,
      batchesPerEpoch: 2,
    },
  );
  assertEquals(run.hypers.map((h) => h[0]!.wd), [0, 0.1, 0.2, 0.30000000000000004]);
  assertEquals(run.history.moms, [0.5, 0.5, 0.5, 0.5]);
});

Deno.test("schedulers refuse data whose batch count is unknown", async () => {
  const model = mlp();
  async function* gen() {
    yield [tf.zeros([2, 2]), tf.zeros([2], "int32")] as const;
  }
  const learn = learner({
    model,
    data: { train: { [Symbol.asyncIterator]: gen } },
    loss: crossEntropy,
  });
  await assertRejects(
    () => fit(learn, 1, { callbacks: [oneCycle({ lrMax: 0.1 })] }),
    RangeError,
    "Callback 'oneCycle' needs the number of batches per epoch",
  );
  model.dispose();
});

Deno.test("generalScheduler() runs phases with their annealers, then stops training (as v1)", async () => {
  const run = await dryRun([
    generalScheduler([
      { length: 3, hypers: { lr: [0.1, 0.4], mom: 0.9 }, anneal: annealingLinear },
      { length: 2, hypers: { lr: [1, 0], mom: [0.8, 0.9] }, anneal: { lr: annealingCos } },
    ]),
  ], { epochs: 4, batchesPerEpoch: 2 });
  const lrs = run.history.lrs;
  // batch 3 runs at phase 0's end (0.4), batch 4 at phase 1's second value: 1 + 3 + 2 batches
  [0.1, 0.2, 0.3, 0.4, 0.5, 0].forEach((v, i) => assertAlmostEquals(lrs[i]!, v, 1e-12));
  [0.9, 0.9, 0.9, 0.9, 0.85, 0.9].forEach((v, i) =>
    assertAlmostEquals(run.history.moms[i]!, v, 1e-12)
  );
  assertEquals(run.stoppedAt, { epoch: 2, iteration: 6 });
  assertThrows(() => generalScheduler([]), RangeError, "'phases'");
  assertThrows(
    () => generalScheduler([{ length: 0, hypers: {} }]),
    RangeError,
    "'phases[0].length'",
  );
});

Deno.test("two callbacks scheduling the same hyper-parameter in the same event are reported with both names", async () => {
  assertThrows(
    () => prepareCallbacks([oneCycle({ lrMax: 0.1 }), paramScheduler({ lr: annealingNo(0.1) })]),
    TypeError,
    "Callbacks 'oneCycle' and 'paramScheduler' both set 'lr' in onBatchBegin",
  );
  prepareCallbacks([oneCycle({ lrMax: 0.1 }), paramScheduler({ wd: annealingNo(0.1) })]);
  const train = blobs(64, 42);
  const model = mlp();
  const learn = learner({ model, data: { train }, loss: crossEntropy });
  const w0 = await model.getWeights()[0]!.data();
  await assertRejects(
    () =>
      fitOneCycle(learn, 1, { lrMax: 0.1, callbacks: [paramScheduler({ lr: annealingNo(1) })] }),
    TypeError,
    "both set 'lr'",
  );
  assertEquals(await model.getWeights()[0]!.data(), w0);
  disposeBatches(train);
  model.dispose();
});
