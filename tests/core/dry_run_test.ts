import { assertEquals, assertRejects } from "@std/assert";
import type { Callback } from "../../core/callback.ts";
import { dryRun } from "../../core/dry_run.ts";
import { earlyStopping } from "../../callbacks/early_stopping.ts";
import { oneCycle } from "../../callbacks/one_cycle.ts";

Deno.test("dryRun() fires fit's events in order and returns the hyper trace and stop point", async () => {
  const events: string[] = [];
  const trace: Callback = {
    name: "trace",
    onTrainBegin: () => void events.push("trainBegin"),
    onEpochBegin: (s) => void events.push(`epochBegin ${s.epoch}`),
    onBatchBegin: (s) => void events.push(`batch ${s.iteration}`),
    onBackwardEnd: (s) => void events.push(`backwardEnd ${s.smoothLosses.length}`),
    onEpochEnd: (s) => void events.push(`epochEnd ${s.lastMetrics[0]}`),
    onTrainEnd: () => void events.push("trainEnd"),
  };
  const run = await dryRun([trace, earlyStopping()], {
    epochs: 3,
    batchesPerEpoch: 2,
    validLosses: [0.5, 0.6, 0.1],
  });
  assertEquals(events, [
    "trainBegin",
    "epochBegin 0",
    "batch 0",
    "backwardEnd 1",
    "batch 1",
    "backwardEnd 2",
    "batch 2", // the validation batch, as in fit
    "epochEnd 0.5",
    "epochBegin 1",
    "batch 2",
    "backwardEnd 3",
    "batch 3",
    "backwardEnd 4",
    "batch 4",
    "epochEnd 0.6",
    "trainEnd",
  ]);
  assertEquals(run.stoppedAt, { epoch: 1, iteration: 4 });
  assertEquals(run.hypers.length, 4);
  assertEquals(run.history.losses.length, 4);
});

Deno.test("dryRun() traces a one-cycle schedule without a model", async () => {
  const run = await dryRun([oneCycle({ lrMax: 1, pctStart: 0.5, divFactor: 10, finalDiv: 100 })], {
    epochs: 1,
    batchesPerEpoch: 4,
  });
  assertEquals(run.history.lrs.map((v) => Math.round(v * 1e6) / 1e6), [0.1, 0.55, 1, 0.505]);
  await assertRejects(() => dryRun([], { epochs: 0, batchesPerEpoch: 1 }), RangeError, "'epochs'");
});
