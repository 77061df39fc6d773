// After an error mid-epoch, onTrainEnd sees the state the last completed event left (a
// callback's per-batch memory included, the batch's tensors cleared), not the state of the
// epoch's start: what lets a callback that keeps tensors in memory (ema) free them.
import { assertEquals, assertRejects } from "@std/assert";
import { type Callback, memoryOf } from "../../core/callback.ts";
import { dryRun } from "../../core/dry_run.ts";
import { fit } from "../../core/fit.ts";
import { disposeLearner, learner } from "../../core/learner.ts";
import { crossEntropy } from "../../core/losses.ts";
import type { TrainState } from "../../core/state.ts";
import { blobs, disposeBatches, mlp, useCpu } from "../_helpers.ts";

await useCpu();

/** Counts training steps in memory; throws at the end of training batch `at`. */
function counter(at: number, seen: { end?: TrainState }): Callback[] {
  return [
    {
      name: "steps",
      onStepEnd: (s) => ({ memory: memoryOf(s, "steps", 0) + 1 }),
      onTrainEnd: (s) => void (seen.end = s),
    },
    {
      name: "bomb",
      onBatchEnd: (s) => {
        if (s.train && s.iteration === at) throw new Error("boom");
      },
    },
  ];
}

Deno.test("after an error mid-epoch onTrainEnd sees the memory of the last completed event (fit)", async () => {
  const train = blobs(64, 3, 16); // 4 batches per epoch
  const model = mlp(1);
  const learn = learner({ model, data: { train }, loss: crossEntropy });
  const seen: { end?: TrainState } = {};
  await assertRejects(() => fit(learn, 3, { callbacks: counter(6, seen) }), Error, "boom");
  const end = seen.end!;
  // batch 6 (epoch 1, batch 2) took its step; its onBatchEnd failed
  assertEquals([end.epoch, end.iteration, end.numBatch, end.memory.steps], [1, 6, 2, 7]);
  assertEquals([end.lastInput, end.lastTarget, end.lastOutput, end.lastLoss, end.grads], [
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
  ]);
  assertEquals((end.error as Error).message, "boom");
  disposeLearner(learn);
  disposeBatches(train);
  model.dispose();
});

Deno.test("the same in a dry run (one event order for both)", async () => {
  const seen: { end?: TrainState } = {};
  await assertRejects(
    () => dryRun(counter(9, seen), { epochs: 3, batchesPerEpoch: 4 }),
    Error,
    "boom",
  );
  assertEquals([seen.end!.epoch, seen.end!.numBatch, seen.end!.memory.steps], [2, 1, 10]);
});
