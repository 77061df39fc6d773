// The shared tracker (callbacks/tracker.ts) as a pure function of the epoch's metrics: what
// counts as an improvement in each mode, the margin, NaN, the wait count, and the errors.
import { assertEquals, assertThrows } from "@std/assert";
import { monitored, type Tracked, tracker } from "../../callbacks/tracker.ts";
import { initialState, type TrainState } from "../../core/state.ts";

const base = initialState({ nEpochs: 9, hypers: [], loss: () => 0 as never });

/** The state at the end of `epoch` with these metrics. */
const at = (epoch: number, metrics: Record<string, number>): TrainState => ({
  ...base,
  epoch,
  train: false,
  metricNames: Object.keys(metrics),
  lastMetrics: Object.values(metrics),
});

/** Runs the tracker over values of `name`, epoch by epoch: [improved, best, bestEpoch, wait]. */
function track(t: ReturnType<typeof tracker>, name: string, values: number[]): unknown[][] {
  let r: Tracked = t.initial;
  return values.map((v, epoch) => {
    const step = t.step(at(epoch, { [name]: v }), r, "test");
    r = step.tracked;
    assertEquals(Number.isNaN(step.value) ? NaN : step.value, v);
    return [step.improved, r.best, r.bestEpoch, r.wait];
  });
}

Deno.test("tracker() in min mode: an epoch improves when strictly below the best", () => {
  const t = tracker();
  assertEquals([t.monitor, t.mode, t.minDelta], ["validLoss", "min", 0]);
  assertEquals(t.initial, { best: Infinity, bestEpoch: -1, wait: 0 });
  assertEquals(track(t, "validLoss", [3, 2, 2, 2.5, 1]), [
    [true, 3, 0, 0],
    [true, 2, 1, 0],
    [false, 2, 1, 1], // equal is no improvement
    [false, 2, 1, 2],
    [true, 1, 4, 0],
  ]);
});

Deno.test("tracker() in max mode: an epoch improves when strictly above the best", () => {
  const t = tracker({ monitor: "accuracy" });
  assertEquals(t.mode, "max");
  assertEquals(t.initial, { best: -Infinity, bestEpoch: -1, wait: 0 });
  assertEquals(track(t, "accuracy", [0.5, 0.7, 0.7, 0.6, 0.9]), [
    [true, 0.5, 0, 0],
    [true, 0.7, 1, 0],
    [false, 0.7, 1, 1],
    [false, 0.7, 1, 2],
    [true, 0.9, 4, 0],
  ]);
});

Deno.test("tracker() with minDelta: only a gain of more than minDelta counts", () => {
  const min = tracker({ minDelta: 0.1 });
  // from 1: 0.9 is a gain of exactly 0.1 (no), 0.85 one of 0.15 (yes)
  assertEquals(track(min, "validLoss", [1, 0.9, 0.85]).map((r) => r[0]), [true, false, true]);
  const max = tracker({ monitor: "accuracy", minDelta: 0.25 });
  assertEquals(track(max, "accuracy", [0.5, 0.75, 0.76]).map((r) => r[0]), [true, false, true]);
  assertThrows(() => tracker({ minDelta: -0.1 }), RangeError, "'minDelta' must be >= 0");
  assertThrows(() => tracker({ minDelta: NaN }), RangeError, "current value is NaN");
});

Deno.test("tracker() skips a NaN epoch (no validation), in either mode: no improvement, no wait", () => {
  // fastai v1: get_monitor_value() is None after an epoch without validation -> skipped
  assertEquals(track(tracker(), "validLoss", [NaN, 1, NaN, 2]), [
    [false, Infinity, -1, 0],
    [true, 1, 1, 0],
    [false, 1, 1, 0],
    [false, 1, 1, 1],
  ]);
  assertEquals(track(tracker({ monitor: "accuracy" }), "accuracy", [NaN]), [
    [false, -Infinity, -1, 0],
  ]);
});

Deno.test("tracker() picks min for loss and error names (any case), max otherwise; mode wins", () => {
  const mode = (monitor: string) => tracker({ monitor }).mode;
  assertEquals(
    ["trainLoss", "LOSS", "errorRate", "Error", "accuracy", "f1", "lossless"].map(mode),
    ["min", "min", "min", "min", "max", "max", "min"],
  );
  assertEquals(tracker({ monitor: "accuracy", mode: "min" }).mode, "min");
  assertEquals(tracker({ monitor: "validLoss", mode: "max" }).mode, "max");
  // an explicit max on a loss name tracks upwards
  const up = tracker({ monitor: "validLoss", mode: "max" });
  assertEquals(track(up, "validLoss", [1, 2]).map((r) => r[0]), [true, true]);
});

Deno.test("monitored() reads a metric by name, NaN when the epoch has no value for it", () => {
  const s = at(0, { validLoss: 0.5, accuracy: 0.8 });
  assertEquals(monitored(s, "accuracy", "cb"), 0.8);
  assertEquals(monitored(s, "validLoss", "cb"), 0.5);
  assertEquals(monitored({ ...s, lastMetrics: [0.5] }, "accuracy", "cb"), NaN);
  assertThrows(
    () => monitored(s, "f1", "saveModel"),
    RangeError,
    "Callback 'saveModel' cannot monitor 'f1': metrics are trainLoss, validLoss, accuracy",
  );
  assertThrows(
    () => tracker({ monitor: "f1" }).step(s, tracker().initial, "es"),
    RangeError,
    "Callback 'es' cannot monitor 'f1'",
  );
});

Deno.test("tracker() says which step skipped, and reads trainLoss from the smoothed loss", () => {
  const t = tracker();
  const nan = t.step(at(0, { validLoss: NaN }), t.initial, "es");
  const one = t.step(at(1, { validLoss: 1 }), nan.tracked, "es");
  assertEquals([nan.skipped, one.skipped], [true, false]);
  // trainLoss is not among the validation metrics: it is the smoothed training loss
  const s = { ...at(2, { validLoss: 0.5 }), smoothLoss: 0.25 };
  assertEquals(monitored(s, "trainLoss", "es"), 0.25);
  const tl = tracker({ monitor: "trainLoss" });
  assertEquals(tl.step(s, tl.initial, "es").tracked, { best: 0.25, bestEpoch: 2, wait: 0 });
});

Deno.test("tracker() refuses a bad monitor or mode, naming who asked and the value", () => {
  for (const [monitor, shown] of [["", `"" (a string)`], [3, "3"]] as const) {
    assertThrows(
      () => tracker({ monitor: monitor as never }),
      TypeError,
      `Cannot create a tracker as 'monitor' must be a metric name: current value is ${shown}`,
    );
  }
  assertThrows(
    () => tracker({ monitor: 5 as never }, "earlyStopping"),
    TypeError,
    "Cannot create earlyStopping as 'monitor' must be a metric name: current value is 5",
  );
  const e = assertThrows(() => tracker({ mode: "maximize" as never }), RangeError);
  assertEquals(
    e.message,
    `Cannot create a tracker as 'mode' must be "min" or "max": current value is "maximize" (a string): did you mean 'max'?`,
  );
  assertThrows(() => tracker({ mode: "minimize" as never }), RangeError, "did you mean 'min'?");
  assertEquals(
    assertThrows(() => tracker({ mode: "auto" as never }), RangeError).message,
    `Cannot create a tracker as 'mode' must be "min" or "max": current value is "auto" (a string)`,
  );
});
