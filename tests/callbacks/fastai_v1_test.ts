// fastai v1.0.61 fidelity (issue 15): oneCycle, generalScheduler, reduceLROnPlateau and
// terminateOnNaN against references written here in float64 from v1's own code (each
// function names the fastai file and method it follows), in a real fit and in dryRun,
// which must give the same traces. mixUp has its own file (mix_up_test.ts).
import * as tf from "@tensorflow/tfjs";
import { assert, assertAlmostEquals, assertEquals, assertRejects, assertThrows } from "@std/assert";
import type { Callback } from "../../core/callback.ts";
import { generalScheduler } from "../../callbacks/general_scheduler.ts";
import { fitOneCycle, oneCycle } from "../../callbacks/one_cycle.ts";
import { reduceLROnPlateau } from "../../callbacks/reduce_lr_on_plateau.ts";
import { terminateOnNaN, type TerminateOnNaNMemory } from "../../callbacks/terminate_on_nan.ts";
import { batches } from "../../core/data.ts";
import { dryRun } from "../../core/dry_run.ts";
import { fit, type FitResult } from "../../core/fit.ts";
import { disposeLearner, type Learner, learner } from "../../core/learner.ts";
import { mse } from "../../core/losses.ts";
import type { Metric } from "../../core/types.ts";
import { annealingCos } from "../../schedules/annealing.ts";
import { sgd } from "../../optim/sgd.ts";
import { scaleModel, useCpu } from "../_helpers.ts";

await useCpu();

// ---- fastai v1 references (float64, written from fastai 1.0.61's code) ----

type Anneal = (start: number, end: number, pct: number) => number;
/** fastai/callback.py: annealing_linear. */
const v1Linear: Anneal = (start, end, pct) => start + pct * (end - start);
/** fastai/callback.py: annealing_cos. */
const v1Cos: Anneal = (start, end, pct) => {
  const cosOut = Math.cos(Math.PI * pct) + 1;
  return end + (start - end) / 2 * cosOut;
};
/** fastai/callback.py: annealing_no. */
const v1No: Anneal = (start) => start;

interface V1Scheduler {
  readonly start: number;
  step(): number;
  isDone(): boolean;
}
/**
 * fastai/callback.py, class Scheduler: `start,end = vals` (a single value: `(vals, 0)`),
 * `n_iter = max(1, n_iter)`, func defaults to annealing_linear for a pair, annealing_no
 * for a value; `step()`: `n += 1; return func(start, end, n / n_iter)`; `is_done`:
 * `n >= n_iter`.
 */
function v1Scheduler(
  vals: number | [number, number],
  nIter: number,
  func?: Anneal,
): V1Scheduler {
  const [start, end] = typeof vals === "number" ? [vals, 0] : vals;
  const n_iter = Math.max(1, nIter);
  const f = func ?? (typeof vals === "number" ? v1No : v1Linear);
  let n = 0;
  return { start, step: () => f(start, end, ++n / n_iter), isDone: () => n >= n_iter };
}

/**
 * fastai/callbacks/one_cycle.py, OneCycleScheduler: on_train_begin (`a1 = int(n *
 * pct_start)`, two Schedulers of a1 and n - a1 steps, annealing_cos, lr from
 * lr_max/div_factor to lr_max to lr_max/final_div, moms (0.95, 0.85) then back; opt.lr,
 * opt.mom = the first schedulers' start) and on_batch_end (step the current pair, move on
 * when done). Recorder.on_batch_begin records opt.lr/opt.mom before each batch. Returns
 * per batch [lr (one per lrMax), mom].
 */
function v1OneCycle(
  lrMaxes: number[],
  n: number,
  pctStart = 0.3,
  divFactor = 25,
): { lrs: number[][]; moms: number[] } {
  const finalDiv = divFactor * 1e4;
  const a1 = Math.trunc(n * pctStart); // Python int()
  const a2 = n - a1;
  const lrScheds = lrMaxes.map((m) => [
    v1Scheduler([m / divFactor, m], a1, v1Cos),
    v1Scheduler([m, m / finalDiv], a2, v1Cos),
  ]);
  const momScheds = [v1Scheduler([0.95, 0.85], a1, v1Cos), v1Scheduler([0.85, 0.95], a2, v1Cos)];
  let lr = lrScheds.map((s) => s[0]!.start);
  let mom = momScheds[0]!.start;
  let idx = 0;
  const lrs: number[][] = [];
  const moms: number[] = [];
  for (let b = 0; b < n; b++) {
    lrs.push(lr);
    moms.push(mom);
    if (idx >= 2) break; // on_batch_end: {'stop_training': True}
    lr = lrScheds.map((s) => s[idx]!.step());
    mom = momScheds[idx]!.step();
    if (lrScheds[0]![idx]!.isDone()) idx++;
  }
  return { lrs, moms };
}

/** A v1 TrainingPhase: `schedule_hp(name, vals, anneal)` per hyper-parameter. */
type V1Phase = { length: number; hps: [string, number | [number, number], Anneal?][] };
/**
 * fastai/callbacks/general_sched.py, GeneralScheduler: on_train_begin sets the first
 * phase's `start`s; on_batch_end(train) returns stop once `idx_s >= len(scheds)`, else
 * steps every scheduler of the current phase and moves on when the first is_done.
 * Returns the hyper-parameters of each batch that runs (at most `maxBatches`).
 */
function v1GeneralScheduler(
  phases: V1Phase[],
  initial: Record<string, number>,
  maxBatches: number,
): Record<string, number>[] {
  const scheds = phases.map((p) =>
    p.hps.map(([k, vals, anneal]) => [k, v1Scheduler(vals, p.length, anneal)] as const)
  );
  const opt = { ...initial };
  for (const [k, s] of scheds[0]!) opt[k] = s.start;
  let idx = 0;
  const out: Record<string, number>[] = [];
  for (let b = 0; b < maxBatches; b++) {
    out.push({ ...opt });
    if (idx >= scheds.length) break; // stop_training, stop_epoch at this batch's end
    for (const [k, s] of scheds[idx]!) opt[k] = s.step();
    if (scheds[idx]![0]![1].isDone()) idx++;
  }
  return out;
}

/**
 * fastai/callbacks/tracker.py, ReduceLROnPlateauCallback.on_epoch_end (1.0.61, min_lr
 * 0.001): `if operator(current - min_delta, best): best, wait = current, 0` else `wait +=
 * 1; if wait > patience and opt.lr > min_lr: opt.lr *= factor; wait = 0`. Returns the lr
 * of each epoch (one layer group).
 */
function v1ReduceLROnPlateau(
  lr: number,
  validLosses: number[],
  { patience = 0, factor = 0.2, minLr = 0.001 } = {},
): number[] {
  let best = Infinity;
  let wait = 0;
  const lrs: number[] = [];
  for (const current of validLosses) {
    lrs.push(lr);
    if (current < best) [best, wait] = [current, 0];
    else {
      wait += 1;
      if (wait > patience && lr > minLr) {
        lr *= factor;
        wait = 0;
      }
    }
  }
  return lrs;
}

// ---- a tiny model: y = w * x, 7 samples of batch size 1 (7 batches per epoch) ----

function tiny(
  opts: { valid?: boolean; metrics?: Metric[] } = {},
): { learn: Learner; dispose(): void } {
  const model = scaleModel(0.5);
  const x = tf.tensor1d([1, 2, 3, 4, 5, 6, 7]);
  const y = tf.tensor1d([2, 4, 6, 8, 10, 12, 14]);
  const learn = learner({
    model,
    data: {
      train: batches(x, y, { batchSize: 1 }),
      ...(opts.valid ? { valid: batches(x, y, { batchSize: 7 }) } : {}),
    },
    loss: mse,
    optimizer: sgd({ mom: 0.9 }),
    metrics: opts.metrics ?? [],
  });
  return {
    learn,
    dispose: () => (disposeLearner(learn), tf.dispose([x, y]), model.dispose()),
  };
}

async function fitTiny(
  epochs: number,
  callbacks: Callback[],
  opts: { lr?: number; valid?: boolean } = {},
): Promise<FitResult> {
  const t = tiny(opts);
  try {
    return await fit(t.learn, epochs, { lr: opts.lr ?? 1e-4, callbacks });
  } finally {
    t.dispose();
  }
}

const close = (got: number, want: number, what: string): void =>
  assertAlmostEquals(got, want, Math.abs(want) * 1e-12 + 1e-18, what);

// ---- one-cycle ----

Deno.test("oneCycle() at 3 x 7 batches, pctStart 0.3: all 21 lrs and moms are fastai v1's, in fit and dryRun", async () => {
  const ref = v1OneCycle([1e-2], 21);
  const { history } = await fitTiny(3, [oneCycle({ lrMax: 1e-2 })]);
  const dry = await dryRun([oneCycle({ lrMax: 1e-2 })], { epochs: 3, batchesPerEpoch: 7 });
  assertEquals(history.lrs.length, 21);
  history.lrs.forEach((lr, i) => close(lr, ref.lrs[i]![0]!, `lr ${i}`));
  history.moms.forEach((m, i) => close(m, ref.moms[i]!, `mom ${i}`));
  assertEquals(dry.history.lrs, history.lrs);
  assertEquals(dry.history.moms, history.moms);
  // pinned by hand: a1 = int(21 * 0.3) = 6; batch 1 is annealing_cos(4e-4, 1e-2, 1/6)
  assertEquals(history.lrs[0], 4e-4);
  assertAlmostEquals(history.lrs[1]!, 1.0431e-3, 1e-7); // the fastai number
  assertAlmostEquals(history.lrs[1]!, 1e-2 - 4.8e-3 * (Math.cos(Math.PI / 6) + 1), 1e-17);
  assertEquals(history.lrs[6], 1e-2); // the peak, exactly
  assertEquals(history.moms[6], 0.85);
  // batch 7 is the fall's first step: annealing_cos(1e-2, 4e-8, 1/15)
  assertAlmostEquals(
    history.lrs[7]!,
    4e-8 + (1e-2 - 4e-8) / 2 * (Math.cos(Math.PI / 15) + 1),
    1e-17,
  );
  assertAlmostEquals(
    history.lrs[20]!,
    4e-8 + (1e-2 - 4e-8) / 2 * (Math.cos(Math.PI * 14 / 15) + 1),
    1e-17,
  );
  assertAlmostEquals(history.moms[1]!, 0.85 + 0.05 * (Math.cos(Math.PI / 6) + 1), 1e-15);
});

Deno.test("oneCycle({ split: 'continuous' }) keeps fastai v2's split at the fraction pctStart", async () => {
  const run = await dryRun([oneCycle({ lrMax: 1e-2, split: "continuous" })], {
    epochs: 3,
    batchesPerEpoch: 7,
  });
  // v2: batch i at pct i/21 of combine_scheds([0.3, 0.7], [cos(4e-4, 1e-2), cos(1e-2, 4e-8)])
  const v2 = (i: number): number => {
    const pct = i / 21;
    return pct < 0.3 ? v1Cos(4e-4, 1e-2, pct / 0.3) : v1Cos(1e-2, 4e-8, (pct - 0.3) / 0.7);
  };
  run.history.lrs.forEach((lr, i) => close(lr, v2(i), `lr ${i}`));
  assertAlmostEquals(run.history.lrs[1]!, 9.845e-4, 1e-7); // the fitloop-before number
  assertAlmostEquals(Math.max(...run.history.lrs), 9.9464e-3, 1e-7);
  assertThrows(
    // deno-lint-ignore no-explicit-any
    () => oneCycle({ lrMax: 1e-2, split: "v2" as any }),
    RangeError,
    `'split' must be "v1" or "continuous": current value is "v2"`,
  );
});

Deno.test("oneCycle() follows v1 with one lrMax per layer group, other pctStart/divFactor, and a rise of 0 whole batches", async () => {
  const groups = [0, 1].map(() => ({ lr: 0, mom: 0, sqrMom: 0.99, eps: 1e-7, wd: 0 }));
  const run = await dryRun([oneCycle({ lrMax: [1e-3, 1e-2], pctStart: 0.45, divFactor: 10 })], {
    epochs: 2,
    batchesPerEpoch: 5,
    hypers: groups,
  });
  const ref = v1OneCycle([1e-3, 1e-2], 10, 0.45, 10); // a1 = int(4.5) = 4
  run.hypers.forEach((h, i) => {
    close(h[0]!.lr, ref.lrs[i]![0]!, `group 0, batch ${i}`);
    close(h[1]!.lr, ref.lrs[i]![1]!, `group 1, batch ${i}`);
    close(h[1]!.mom, ref.moms[i]!, `mom ${i}`);
  });
  assertEquals([run.hypers[4]![0]!.lr, run.hypers[4]![1]!.lr], [1e-3, 1e-2]);
  // 11 batches at pctStart 0.05: a1 = int(0.55) = 0, a Scheduler of max(1, 0) = 1 step
  const zero = await dryRun([oneCycle({ lrMax: 1, pctStart: 0.05 })], {
    epochs: 1,
    batchesPerEpoch: 11,
  });
  const ref0 = v1OneCycle([1], 11, 0.05);
  zero.history.lrs.forEach((lr, i) => close(lr, ref0.lrs[i]![0]!, `lr ${i}`));
  assertEquals(zero.history.lrs.slice(0, 2), [1 / 25, 1]);
});

Deno.test("fitOneCycle() reaches exactly lrMax and passes split on", async () => {
  const t = tiny();
  const v1 = await fitOneCycle(t.learn, 3, { lrMax: 1e-2 });
  const v2 = await fitOneCycle(t.learn, 3, { lrMax: 1e-2, split: "continuous" });
  t.dispose();
  assertEquals(Math.max(...v1.history.lrs), 1e-2);
  assert(Math.max(...v2.history.lrs) < 0.995e-2);
});

// ---- generalScheduler ----

Deno.test("generalScheduler() with a jump between phases runs as v1's GeneralScheduler, in fit and dryRun", async () => {
  // phase 0: lr 1e-3 -> 1e-2 linear (Scheduler's default), mom constant 0.9
  // phase 1 starts elsewhere (5e-3): lr 5e-3 -> 1e-4 by cosine, mom 0.8 -> 0.9 linear
  const phases = () =>
    generalScheduler([
      { length: 3, hypers: { lr: [1e-3, 1e-2], mom: 0.9 } },
      {
        length: 4,
        hypers: { lr: [5e-3, 1e-4], mom: [0.8, 0.9] },
        anneal: { lr: annealingCos },
      },
    ]);
  const ref = v1GeneralScheduler(
    [
      { length: 3, hps: [["lr", [1e-3, 1e-2]], ["mom", 0.9]] },
      { length: 4, hps: [["lr", [5e-3, 1e-4], v1Cos], ["mom", [0.8, 0.9]]] },
    ],
    { lr: 1e-4, mom: 0.9 },
    100,
  );
  assertEquals(ref.length, 8); // 1 + 3 + 4 batches
  const { history } = await fitTiny(3, [phases()]);
  const dry = await dryRun([phases()], {
    epochs: 3,
    batchesPerEpoch: 7,
    hypers: [{ lr: 1e-4, mom: 0.9, sqrMom: 0, eps: 0, wd: 0 }],
  });
  assertEquals(history.nBatches, [7, 1]); // stopped at the end of the 8th batch
  assertEquals(dry.history.nBatches, [7, 1]);
  assertEquals(dry.stoppedAt, { epoch: 1, iteration: 8 });
  history.lrs.forEach((lr, i) => close(lr, ref[i]!.lr!, `lr ${i}`));
  history.moms.forEach((m, i) => close(m, ref[i]!.mom!, `mom ${i}`));
  assertEquals(dry.history.lrs, history.lrs);
  assertEquals(dry.history.moms, history.moms);
  // by hand: 1e-3, 4e-3, 7e-3, then phase 0's end 1e-2 (not phase 1's 5e-3), then phase
  // 1's second value annealing_cos(5e-3, 1e-4, 1/4), ..., its end 1e-4
  [1e-3, 4e-3, 7e-3, 1e-2].forEach((v, i) => assertAlmostEquals(history.lrs[i]!, v, 1e-17));
  assertAlmostEquals(history.lrs[4]!, 1e-4 + 4.9e-3 / 2 * (Math.cos(Math.PI / 4) + 1), 1e-17);
  assertAlmostEquals(history.lrs[7]!, 1e-4, 1e-18);
  assertEquals(history.moms.slice(0, 4), [0.9, 0.9, 0.9, 0.9]);
  assertAlmostEquals(history.moms[4]!, 0.825, 1e-15); // 0.8 + 1/4 * 0.1
});

// ---- reduceLROnPlateau ----

Deno.test("reduceLROnPlateau() gates on minLr as v1: 0.01 -> 0.002 -> 0.0004, then no more", async () => {
  const flat = [1, 1, 1, 1, 1, 1];
  const ref = v1ReduceLROnPlateau(0.01, flat);
  assertEquals(ref, [0.01, 0.01, 0.01 * 0.2, 0.01 * 0.2 * 0.2, 0.01 * 0.2 * 0.2, 0.01 * 0.2 * 0.2]);
  // a real fit whose monitored metric stays flat, and the dry run on the same numbers
  const t = tiny({ valid: true, metrics: [{ name: "flat", fn: () => tf.scalar(1) }] });
  const cb = () => reduceLROnPlateau({ monitor: "flat", mode: "min" });
  const { history, state } = await fit(t.learn, 6, { lr: 0.01, callbacks: [cb()] });
  t.dispose();
  const dry = await dryRun([cb()], {
    epochs: 6,
    batchesPerEpoch: 7,
    metrics: { flat },
    hypers: [{ lr: 0.01, mom: 0, sqrMom: 0, eps: 0, wd: 0 }],
  });
  const perEpoch = (lrs: number[]) => lrs.filter((_, i) => i % 7 === 0);
  assertEquals(perEpoch(history.lrs), ref);
  assertEquals(dry.history.lrs, history.lrs);
  assertEquals((state.memory.reduceLROnPlateau as { reducedAt: number[] }).reducedAt, [1, 2]);
  // v1 keeps counting while gated: wait is 3 after epochs 3, 4, 5
  assertEquals((state.memory.reduceLROnPlateau as { wait: number }).wait, 3);
});

Deno.test("reduceLROnPlateau() keeps each layer group's ratio, gating on the last group (v1's opt.lr)", async () => {
  const h = (lr: number) => ({ lr, mom: 0, sqrMom: 0, eps: 0, wd: 0 });
  const losses = [1, 0.9, 0.95, 0.96, 0.8, 0.85, 0.86, 0.87, 0.88, 0.89];
  const run = await dryRun([reduceLROnPlateau({ patience: 1 })], {
    epochs: losses.length,
    batchesPerEpoch: 1,
    validLosses: losses,
    hypers: [h(0.0005), h(0.005)], // the first group starts below minLr: the last decides
  });
  const last = v1ReduceLROnPlateau(0.005, losses, { patience: 1 });
  assertEquals(run.hypers.map((g) => g[1]!.lr), last);
  assertEquals(run.hypers.map((g) => g[0]!.lr), last.map((v) => v === 0.005 ? 0.0005 : v / 10));
  // 0.005 -> 0.001 at epoch 3; 0.001 is not above minLr 0.001: no reduction at epoch 7
  assertEquals(run.state.hypers.map((g) => g.lr), [0.0005 * 0.2, 0.005 * 0.2]);
  assertThrows(() => reduceLROnPlateau({ minLr: -1 }), RangeError, "'minLr'");
});

Deno.test("reduceLROnPlateau() skips epochs without validation, as v1 (get_monitor_value() is None)", async () => {
  // a fit with no validation data at all is refused up front (nothing silent)
  await assertRejects(
    () => fitTiny(3, [reduceLROnPlateau()], { lr: 0.01 }),
    TypeError,
    "monitors 'validLoss', which is computed on validation data",
  );
  // epochs whose validation was skipped (NaN) are not counted, as v1 skips them
  const dry = await dryRun([reduceLROnPlateau()], {
    epochs: 5,
    batchesPerEpoch: 1,
    validLosses: [1, NaN, 1, NaN, 1],
    hypers: [{ lr: 0.01, mom: 0, sqrMom: 0, eps: 0, wd: 0 }],
  });
  // v1 sees the epochs with validation only: 1, 1, 1 -> reductions after epochs 2 and 4
  assertEquals(dry.history.lrs, [0.01, 0.01, 0.01, 0.002, 0.002]);
});

// ---- terminateOnNaN ----

Deno.test("terminateOnNaN() never lets a NaN penalty reach the weights: the step is skipped, training ends, no validation", async () => {
  const tensors = tf.memory().numTensors;
  const t = tiny({ valid: true });
  const w = (t.learn.model as unknown as { w: tf.Variable }).w;
  const afterBatch: number[] = [];
  let validBatches = 0;
  const penalty: Callback = {
    name: "penalty",
    // a NaN penalty on the weight at batch 3: NaN loss and NaN gradients
    onBackwardBegin: (s) =>
      s.iteration === 3 ? { lastLoss: tf.add(s.lastLoss!, tf.mul(tf.square(w), NaN)) } : undefined,
  };
  const probe: Callback = {
    name: "probe",
    order: 50,
    onBatchBegin: (s) => void (s.train || validBatches++),
    onStepEnd: async () => void afterBatch.push((await w.data())[0]!),
  };
  const messages: string[] = [];
  const { history, state } = await fit(t.learn, 3, {
    lr: 1e-3,
    callbacks: [penalty, terminateOnNaN({ log: (m) => messages.push(m) }), probe],
  });
  const final = (await w.data())[0]!;
  const steps = t.learn.optState!.step;
  t.dispose();
  assertEquals(tf.memory().numTensors, tensors);
  assertEquals(history.nBatches, [4]); // batches 0..3 of epoch 0, then training ended
  assertEquals(afterBatch.length, 4);
  assert(Number.isFinite(final));
  assertEquals(final, afterBatch[2]); // bit for bit the weight after batch 2
  assertEquals(steps, 3); // no optimizer step for batch 3
  assertEquals(validBatches, 0);
  assertEquals(history.valLosses, [NaN]);
  const memory = state.memory.terminateOnNaN as TerminateOnNaNMemory;
  assertEquals([memory.epoch, memory.batch, memory.iteration], [0, 3, 3]);
  assert(Number.isNaN(memory.loss));
  assertEquals(messages, [
    "Epoch/Batch (0/3): invalid loss NaN, skipped its optimizer step and terminated training",
  ]);
  // the dry run stops at the same batch, with the same trace
  const dry = await dryRun([terminateOnNaN({ log: () => {} })], {
    epochs: 3,
    batchesPerEpoch: 7,
    losses: (i) => (i === 3 ? NaN : 1),
    hypers: [{ lr: 1e-3, mom: 0.9, sqrMom: 0, eps: 0, wd: 0 }],
  });
  assertEquals(dry.history.nBatches, history.nBatches);
  assertEquals(dry.history.lrs, history.lrs);
  assertEquals(dry.stoppedAt, { epoch: 0, iteration: 4 });
});

Deno.test("terminateOnNaN() also stops on an infinite loss, and leaves finite runs alone", async () => {
  const inf: Callback = {
    name: "inf",
    onBackwardBegin: (s) => s.iteration === 9 ? { lastLoss: tf.div(s.lastLoss!, 0) } : undefined,
  };
  const messages: string[] = [];
  const { history } = await fitTiny(3, [inf, terminateOnNaN({ log: (m) => messages.push(m) })]);
  assertEquals(history.nBatches, [7, 3]);
  assertEquals(messages.length, 1);
  assert(messages[0]!.startsWith("Epoch/Batch (1/2): invalid loss Infinity"));
  const fine = await fitTiny(2, [terminateOnNaN()]);
  assertEquals(fine.history.nBatches, [7, 7]);
});
