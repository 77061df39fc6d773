// timeLimit's boundary and clock, over a dry run with a fake clock: a batch that ends
// exactly when the budget is spent stops training (the budget has passed), one that ends
// a millisecond before does not.
import { assertEquals, assertThrows } from "@std/assert";
import type { Callback } from "../../core/callback.ts";
import { dryRun } from "../../core/dry_run.ts";
import { timeLimit } from "../../callbacks/time_limit.ts";

/** A clock at `start` ms that advances `step` ms at the end of every training batch. */
function clock(start: number, step: number): { now: () => number; tick: Callback } {
  let t = start;
  return {
    now: () => t,
    tick: { name: "tick", order: -1, onBatchEnd: (s) => void (s.train && (t += step)) },
  };
}

Deno.test("timeLimit() stops at the batch that ends exactly when the budget is spent", async () => {
  // 100 ms per batch, 0.5 s: the 5th batch ends at 500 ms -> stop (epoch 1, its 2nd batch)
  const c = clock(0, 100);
  const run = await dryRun([c.tick, timeLimit({ seconds: 0.5, now: c.now })], {
    epochs: 5,
    batchesPerEpoch: 3,
  });
  assertEquals(run.history.nBatches, [3, 2]);
  assertEquals(run.stoppedAt, { epoch: 1, iteration: 5 });
  assertEquals(run.history.valLosses.length, 2); // the cut epoch is still validated
});

Deno.test("timeLimit() lets a batch that ends 1 ms before the budget through", async () => {
  const c = clock(0, 100);
  const run = await dryRun([c.tick, timeLimit({ seconds: 0.501, now: c.now })], {
    epochs: 5,
    batchesPerEpoch: 3,
  });
  // batch 5 ends at 500 ms (1 ms left), batch 6 at 600 ms -> stop after 6 batches
  assertEquals(run.history.nBatches, [3, 3]);
  assertEquals(run.stoppedAt, { epoch: 1, iteration: 6 });
});

Deno.test("timeLimit() counts from the start of training, not from the clock's zero", async () => {
  const c = clock(10_000, 100);
  const run = await dryRun([c.tick, timeLimit({ seconds: 0.2, now: c.now })], {
    epochs: 3,
    batchesPerEpoch: 4,
  });
  assertEquals(run.history.nBatches, [2]);
  // a budget longer than the fit never stops it
  const d = clock(0, 100);
  const all = await dryRun([d.tick, timeLimit({ seconds: 100, now: d.now })], {
    epochs: 2,
    batchesPerEpoch: 2,
  });
  assertEquals([all.history.nBatches, all.stoppedAt], [[2, 2], undefined]);
});

Deno.test("timeLimit() ignores validation batches and refuses a budget that is not positive", async () => {
  let t = 0;
  // the clock jumps during validation only: training is never stopped by it mid-fit
  const jump: Callback = { name: "jump", onBatchEnd: (s) => void (!s.train && (t += 1e6)) };
  const run = await dryRun([jump, timeLimit({ seconds: 1, now: () => t })], {
    epochs: 2,
    batchesPerEpoch: 2,
  });
  // epoch 1's first training batch sees the jump: stop there
  assertEquals(run.history.nBatches, [2, 1]);
  for (const seconds of [0, -1, NaN]) {
    assertThrows(() => timeLimit({ seconds }), RangeError, "'seconds' must be a positive number");
  }
});
