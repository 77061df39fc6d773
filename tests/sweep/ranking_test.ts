// How a sweep ranks its trials, and the pruners' decisions, as pure functions of the
// objectives and reports (no trial trains anything). Expected orders and decisions are
// worked out by hand in the comments. Imports only the public sweep entry.
import { assertEquals, assertThrows } from "@std/assert";
import {
  ashaPruner,
  choice,
  grid,
  medianPruner,
  shouldPrune,
  sweep,
  type SweepResult,
} from "../../sweep/mod.ts";

/**
 * A sweep whose trial i returns objectives[i] (a string: the trial throws it).
 */
async function ranked(
  objectives: readonly (number | string)[],
  options: { direction?: "minimize" | "maximize"; monitor?: string } = {},
): Promise<SweepResult> {
  return await sweep({
    space: { i: choice(objectives.map((_, i) => i)) },
    sampler: grid(),
    ...options,
    trial: ({ i }) => {
      const o = objectives[i as number]!;
      if (typeof o === "string") throw new Error(o);
      return o;
    },
  });
}

const order = (r: SweepResult): number[] => r.trials.map((t) => t.params.i as number);

Deno.test("a maximizing sweep ranks the largest objective first", async () => {
  const r = await ranked([0.3, 0.9, 0.1, 0.6], { direction: "maximize" });
  assertEquals(order(r), [1, 3, 0, 2]);
  assertEquals(r.best?.objective, 0.9);
  assertEquals(r.direction, "maximize");
});

Deno.test("a minimizing sweep ranks the smallest objective first", async () => {
  const r = await ranked([0.3, 0.9, 0.1, 0.6], { direction: "minimize" });
  assertEquals(order(r), [2, 0, 3, 1]);
  assertEquals(r.best?.objective, 0.1);
});

Deno.test("ties keep the plan order; failed trials come last in plan order, whatever the direction", async () => {
  for (const direction of ["minimize", "maximize"] as const) {
    const r = await ranked(["boom", 0.5, 0.2, "bang", 0.5, 0.8], { direction });
    const ok = direction === "minimize" ? [2, 1, 4, 5] : [5, 1, 4, 2];
    assertEquals(order(r), [...ok, 0, 3], direction);
    assertEquals(r.trials.slice(4).map((t) => t.status), ["failed", "failed"]);
    assertEquals(r.best?.params.i, ok[0]);
  }
  // negative objectives: the sign is not mistaken for a failure
  assertEquals(order(await ranked([-1, -3, 2], { direction: "maximize" })), [2, 0, 1]);
  assertEquals(order(await ranked([-1, -3, 2], { direction: "minimize" })), [1, 0, 2]);
});

Deno.test("the direction defaults from the monitor's name: loss and error minimize, others maximize", async () => {
  const objectives = [0.3, 0.9, 0.1];
  assertEquals((await ranked(objectives)).direction, "minimize"); // validLoss
  assertEquals(order(await ranked(objectives, { monitor: "errorRate" })), [2, 0, 1]);
  const acc = await ranked(objectives, { monitor: "accuracy" });
  assertEquals([acc.direction, order(acc)], ["maximize", [1, 0, 2]]);
  // an explicit direction wins over the name
  assertEquals(order(await ranked(objectives, { monitor: "accuracy", direction: "minimize" })), [
    2,
    0,
    1,
  ]);
});

Deno.test("a sweep where every trial failed has no best trial", async () => {
  const r = await ranked(["a", "b"], { direction: "maximize" });
  assertEquals(r.best, undefined);
  assertEquals(order(r), [0, 1]);
});

// reports: trial id -> monitored value at each epoch
const reports = (rows: Record<number, number[]>): Map<number, number[]> =>
  new Map(Object.entries(rows).map(([k, v]) => [Number(k), v]));

Deno.test("the median pruner compares with the median of the other trials, not their mean", () => {
  const p = medianPruner({ warmupEpochs: 0, minTrials: 1 });
  // others at epoch 0: 1, 2, 100 -> median 2 (mean 34.3); trial 0 at 3 is worse than 2
  const r = reports({ 0: [3], 1: [1], 2: [2], 3: [100] });
  assertEquals(shouldPrune(p, r, 0, 0, "minimize"), true);
  // maximizing: median 2 (mean 34.3); trial 0 at 3 is better than 2
  assertEquals(shouldPrune(p, r, 0, 0, "maximize"), false);
  // an even count: others 1, 2, 4, 100 -> median 3 (mean 26.75)
  const even = reports({ 0: [3.5], 1: [1], 2: [2], 3: [4], 4: [100] });
  assertEquals(shouldPrune(p, even, 0, 0, "minimize"), true);
  assertEquals(
    shouldPrune(p, reports({ 0: [2.5], 1: [1], 2: [2], 3: [4], 4: [100] }), 0, 0, "minimize"),
    false,
  );
  // maximizing, with the mean above: others 0, 1, 2, 97 -> median 1.5 (mean 25); 10 is kept
  const skew = reports({ 0: [10], 1: [0], 2: [1], 3: [2], 4: [97] });
  assertEquals(shouldPrune(p, skew, 0, 0, "maximize"), false);
  assertEquals(
    shouldPrune(p, reports({ 0: [1], 1: [0], 2: [1], 3: [2], 4: [97] }), 0, 0, "maximize"),
    true,
  );
});

Deno.test("the median pruner: only strictly worse is pruned; its own value is not among the others", () => {
  const p = medianPruner({ warmupEpochs: 0, minTrials: 1 });
  // others 1, 5 -> median 3: a value of exactly 3 is not worse
  const r = reports({ 0: [3], 1: [1], 2: [5] });
  assertEquals(shouldPrune(p, r, 0, 0, "minimize"), false);
  assertEquals(shouldPrune(p, r, 0, 0, "maximize"), false);
  // trial 0 at 10 with others 1, 2: median 1.5 -> pruned (with itself counted it would be 2)
  assertEquals(shouldPrune(p, reports({ 0: [10], 1: [1], 2: [2] }), 0, 0, "minimize"), true);
  // with itself among the others, 1.9 would face median 1.9 of {1, 1.9, 2}: it faces 1.5
  assertEquals(shouldPrune(p, reports({ 0: [1.9], 1: [1], 2: [2] }), 0, 0, "minimize"), true);
});

Deno.test("the median pruner waits for the warm-up and for enough other trials at that epoch", () => {
  const r = reports({ 0: [9, 9, 9], 1: [1, 1, 1], 2: [1, 1], 3: [1] });
  const p = medianPruner({ warmupEpochs: 1, minTrials: 2 });
  assertEquals(shouldPrune(p, r, 0, 0, "minimize"), false); // epoch 0 < warm-up
  assertEquals(shouldPrune(p, r, 0, 1, "minimize"), true); // others at epoch 1: trials 1, 2
  assertEquals(shouldPrune(p, r, 0, 2, "minimize"), false); // only trial 1 reached epoch 2
  assertEquals(shouldPrune(medianPruner({ warmupEpochs: 3 }), r, 0, 2, "minimize"), false);
  // minTrials 0 still needs one other trial
  assertEquals(
    shouldPrune(
      medianPruner({ warmupEpochs: 0, minTrials: 0 }),
      reports({ 0: [5] }),
      0,
      0,
      "minimize",
    ),
    false,
  );
  // defaults: warm-up 1 epoch, 2 other trials
  const d = medianPruner();
  assertEquals([d.warmupEpochs, d.minTrials], [1, 2]);
});

Deno.test("the median pruner prunes a NaN value, ignores others' NaN, keeps a trial that has not reported", () => {
  const p = medianPruner({ warmupEpochs: 0, minTrials: 1 });
  assertEquals(shouldPrune(p, reports({ 0: [NaN], 1: [1] }), 0, 0, "minimize"), true);
  assertEquals(shouldPrune(p, reports({ 0: [NaN], 1: [1] }), 0, 0, "maximize"), true);
  // others: NaN is left out -> median of 1 and 3 is 2; 2.5 is worse
  assertEquals(
    shouldPrune(p, reports({ 0: [2.5], 1: [1], 2: [NaN], 3: [3] }), 0, 0, "minimize"),
    true,
  );
  // only NaN others: nothing to compare with
  assertEquals(shouldPrune(p, reports({ 0: [2.5], 1: [NaN] }), 0, 0, "minimize"), false);
  assertEquals(shouldPrune(p, reports({ 1: [1], 2: [2] }), 0, 0, "minimize"), false);
  assertEquals(shouldPrune(p, reports({ 0: [1], 1: [1], 2: [2] }), 0, 1, "minimize"), false);
});

Deno.test("medianPruner() and ashaPruner() refuse bad options, naming them", () => {
  assertThrows(() => medianPruner({ warmupEpochs: -1 }), RangeError, "'warmupEpochs'");
  assertThrows(() => medianPruner({ minTrials: 1.5 }), RangeError, "'minTrials'");
  assertThrows(() => ashaPruner({ minEpochs: 0 }), RangeError, "'minEpochs'");
  assertThrows(() => ashaPruner({ minEpochs: 1.5 }), RangeError, "'minEpochs'");
  assertThrows(() => ashaPruner({ reductionFactor: 1.5 }), RangeError, "'reductionFactor'");
  assertEquals(ashaPruner({ reductionFactor: 2 }).reductionFactor, 2);
  assertEquals(ashaPruner().minEpochs, 1);
  assertEquals(ashaPruner().reductionFactor, 3);
  assertEquals(medianPruner({ warmupEpochs: 0, minTrials: 0 }).minTrials, 0);
});

Deno.test("the ASHA pruner decides only at rungs: minEpochs * rf^k epochs", () => {
  // minEpochs 2, rf 3: rungs after 2, 6, 18 epochs (0-based epochs 1, 5, 17)
  const p = ashaPruner({ minEpochs: 2, reductionFactor: 3 });
  const bad = Array.from({ length: 18 }, () => 9);
  const good = Array.from({ length: 18 }, () => 1);
  const r = reports({ 0: bad, 1: good, 2: good, 3: good });
  const decided = Array.from({ length: 18 }, (_, e) => shouldPrune(p, r, 0, e, "minimize"));
  assertEquals(decided.flatMap((d, e) => (d ? [e] : [])), [1, 5, 17]);
});

Deno.test("the ASHA pruner keeps the top floor(n / rf) (at least one) at a rung, in either direction", () => {
  const p = ashaPruner({ minEpochs: 1, reductionFactor: 2 });
  // epoch 0 values of 5 trials: 1, 2, 3, 4, 5 -> keep floor(5 / 2) = 2: values 1 and 2
  const r = reports({ 0: [1], 1: [2], 2: [3], 3: [4], 4: [5] });
  const pruned = (dir: "minimize" | "maximize") =>
    [0, 1, 2, 3, 4].filter((id) => shouldPrune(p, r, id, 0, dir));
  assertEquals(pruned("minimize"), [2, 3, 4]);
  assertEquals(pruned("maximize"), [0, 1, 2]);
  // one trial alone is kept; of two, the worse goes (keep max(1, floor(2 / 2)) = 1)
  assertEquals(shouldPrune(p, reports({ 0: [7] }), 0, 0, "minimize"), false);
  assertEquals(shouldPrune(p, reports({ 0: [7], 1: [3] }), 0, 0, "minimize"), true);
  assertEquals(shouldPrune(p, reports({ 0: [3], 1: [7] }), 0, 0, "minimize"), false);
  // rf 3 with 5 trials keeps floor(5 / 3) = 1; a tie with the kept value is kept
  const p3 = ashaPruner({ minEpochs: 1, reductionFactor: 3 });
  const tie = reports({ 0: [1], 1: [1], 2: [3], 3: [4], 4: [5] });
  assertEquals([0, 1, 2].map((id) => shouldPrune(p3, tie, id, 0, "minimize")), [
    false,
    false,
    true,
  ]);
});

Deno.test("the ASHA pruner prunes a NaN value, ignores others' NaN, and waits for its own report", () => {
  const p = ashaPruner({ minEpochs: 1, reductionFactor: 2 });
  assertEquals(shouldPrune(p, reports({ 0: [NaN], 1: [1] }), 0, 0, "minimize"), true);
  // competing: 2, 3 (NaN left out) -> keep 1: the value 2; 3 goes
  const r = reports({ 0: [2], 1: [NaN], 2: [3] });
  assertEquals([shouldPrune(p, r, 0, 0, "minimize"), shouldPrune(p, r, 2, 0, "minimize")], [
    false,
    true,
  ]);
  assertEquals(shouldPrune(p, reports({ 1: [1], 2: [2] }), 0, 0, "minimize"), false);
});

Deno.test("the median pruner sorts the others' values before taking the middle one", () => {
  const p = medianPruner({ warmupEpochs: 0, minTrials: 1 });
  // others in trial order 100, 1, 2, -5, 30: sorted -5, 1, 2, 30, 100 -> median 2
  // (unsorted the middle is 2 as well by chance: 100, 1, [2], -5, 30; so use 4 others too)
  const five = (self: number) => reports({ 0: [self], 1: [100], 2: [1], 3: [-5], 4: [30], 5: [2] });
  assertEquals(shouldPrune(p, five(2.5), 0, 0, "minimize"), true);
  assertEquals(shouldPrune(p, five(1.5), 0, 0, "minimize"), false);
  // four others 100, 1, 30, -5: sorted -5, 1, 30, 100 -> median 15.5
  const four = (self: number) => reports({ 0: [self], 1: [100], 2: [1], 3: [30], 4: [-5] });
  assertEquals(shouldPrune(p, four(16), 0, 0, "minimize"), true);
  assertEquals(shouldPrune(p, four(15), 0, 0, "minimize"), false);
  assertEquals(shouldPrune(p, four(15), 0, 0, "maximize"), true);
});

Deno.test("the median pruner counts only the trials that reached the epoch", () => {
  const p = medianPruner({ warmupEpochs: 0, minTrials: 1 });
  // at epoch 1 only trial 1 (value 5) is there: 9 is worse. Trials 2 and 3 stopped at epoch 0.
  const r = reports({ 0: [0, 9], 1: [0, 5], 2: [0], 3: [0] });
  assertEquals(shouldPrune(p, r, 0, 1, "minimize"), true);
  // with minTrials 2, one other is not enough
  assertEquals(
    shouldPrune(medianPruner({ warmupEpochs: 0, minTrials: 2 }), r, 0, 1, "minimize"),
    false,
  );
});

Deno.test("the ASHA pruner ranks only the trials that reported a number at the rung", () => {
  const p = ashaPruner({ minEpochs: 1, reductionFactor: 2 });
  // at epoch 0: 3 (self) and 1 compete; two NaN reports and two silent trials do not.
  // keep max(1, floor(2 / 2)) = 1: the value 1; 3 goes
  const r = reports({ 0: [3], 1: [1], 2: [NaN], 3: [NaN], 4: [], 5: [] });
  assertEquals(shouldPrune(p, r, 0, 0, "minimize"), true);
  assertEquals(shouldPrune(p, r, 1, 0, "minimize"), false);
  const silent = reports({ 0: [3], 1: [1], 2: [], 3: [] });
  assertEquals(shouldPrune(p, silent, 0, 0, "minimize"), true);
});

Deno.test("a null report (NaN gone through JSON in a custom storage) is left out like NaN, by both pruners", () => {
  const withNull = (r: Record<number, (number | null)[]>) => reports(r as Record<number, number[]>);
  // median: the others are 1 and 2 (null left out) -> median 1.5; 1.5 is not worse.
  // Counting null as a value would make the median 1 and prune.
  const m = medianPruner({ warmupEpochs: 0, minTrials: 1 });
  assertEquals(
    shouldPrune(m, withNull({ 0: [1.5], 1: [1], 2: [null], 3: [2] }), 0, 0, "minimize"),
    false,
  );
  // ASHA, factor 2: competing 1, 2, 3, 4 -> keep the best 2, threshold 2; 2 is kept.
  // Counting null would make five values, threshold 1, and prune.
  const a = ashaPruner({ minEpochs: 1, reductionFactor: 2 });
  const r = withNull({ 0: [2], 1: [1], 2: [3], 3: [4], 4: [null] });
  assertEquals(shouldPrune(a, r, 0, 0, "minimize"), false);
  assertEquals(shouldPrune(a, r, 2, 0, "minimize"), true);
});
