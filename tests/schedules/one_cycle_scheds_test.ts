import { assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { oneCycleScheds, oneCycleSteps } from "../../schedules/one_cycle_scheds.ts";

const cosAnneal = (s: number, e: number, p: number): number =>
  e + (s - e) / 2 * (Math.cos(Math.PI * p) + 1);

Deno.test("oneCycleScheds() rises to lrMax at pctStart and falls to lrMax/finalDiv", () => {
  const { lr, mom } = oneCycleScheds({ lrMax: 0.1 });
  assertAlmostEquals(lr(0), 0.1 / 25, 1e-15);
  assertAlmostEquals(lr(0.15), cosAnneal(0.004, 0.1, 0.5), 1e-15);
  assertAlmostEquals(lr(0.3), 0.1, 1e-15);
  assertAlmostEquals(lr(0.65), cosAnneal(0.1, 0.1 / 25e4, 0.5), 1e-15);
  assertAlmostEquals(lr(1), 0.1 / 25e4, 1e-15);
  assertAlmostEquals(mom(0), 0.95);
  assertAlmostEquals(mom(0.3), 0.85);
  assertAlmostEquals(mom(0.65), 0.9);
  assertAlmostEquals(mom(1), 0.95);
});

Deno.test("oneCycleScheds() honours divFactor, finalDiv, pctStart and moms", () => {
  const { lr, mom } = oneCycleScheds({
    lrMax: 1,
    divFactor: 10,
    finalDiv: 100,
    pctStart: 0.5,
    moms: [0.9, 0.8, 0.7],
  });
  assertAlmostEquals(lr(0), 0.1);
  assertAlmostEquals(lr(0.25), cosAnneal(0.1, 1, 0.5));
  assertAlmostEquals(lr(0.5), 1);
  assertAlmostEquals(lr(1), 0.01);
  assertAlmostEquals(mom(0.5), 0.8);
  assertAlmostEquals(mom(1), 0.7);
});

Deno.test("oneCycleScheds() with an array lrMax gives one lr per layer group", () => {
  const { lr } = oneCycleScheds({ lrMax: [0.01, 0.1] });
  const at = lr(0.3);
  assertEquals(at.length, 2);
  assertAlmostEquals(at[0]!, 0.01, 1e-15);
  assertAlmostEquals(at[1]!, 0.1, 1e-15);
  assertAlmostEquals(lr(0)[1]!, 0.004, 1e-15);
});

Deno.test("oneCycleScheds() validates pctStart, divisors and lrMax", () => {
  assertThrows(
    () => oneCycleScheds({ lrMax: 1, pctStart: 1.2 }),
    RangeError,
    "Cannot create oneCycle as 'pctStart' must be in [0, 1): current value is 1.2",
  );
  assertThrows(() => oneCycleScheds({ lrMax: 1, pctStart: 1 }), RangeError, "pctStart");
  assertThrows(() => oneCycleScheds({ lrMax: 1, divFactor: 0 }), RangeError, "'divFactor'");
  assertThrows(() => oneCycleScheds({ lrMax: -1 }), RangeError, "'lrMax' must be > 0");
  assertThrows(() => oneCycleScheds({ lrMax: [1, NaN] }), RangeError, "'lrMax[1]'");
});

// fastai/callbacks/one_cycle.py (v1): a1 = int(n * pct_start); two Schedulers
// (fastai/callback.py) of a1 and n - a1 steps; batch i after i steps of the first, then
// after i - a1 steps of the second
Deno.test("oneCycleSteps() splits at floor(n * pctStart) whole batches, as fastai v1", () => {
  const { lr, mom, a1 } = oneCycleSteps({ lrMax: 1 }, 21);
  assertEquals(a1, 6);
  assertEquals([lr(0), lr(6), mom(0), mom(6)], [1 / 25, 1, 0.95, 0.85]);
  assertAlmostEquals(lr(3), cosAnneal(1 / 25, 1, 3 / 6), 1e-15);
  assertAlmostEquals(lr(7), cosAnneal(1, 1 / 25e4, 1 / 15), 1e-15);
  assertAlmostEquals(lr(21), 1 / 25e4, 1e-18); // one past the last batch: the end
  assertAlmostEquals(lr(40), 1 / 25e4, 1e-18); // held there
  assertAlmostEquals(mom(13), cosAnneal(0.85, 0.95, 7 / 15), 1e-15);
  // a rise of int(10 * 0.05) = 0 batches is one step long (Scheduler: max(1, n_iter))
  const zero = oneCycleSteps({ lrMax: 1, pctStart: 0.05 }, 10);
  assertEquals([zero.a1, zero.lr(0), zero.lr(1)], [0, 1 / 25, 1]);
  assertAlmostEquals(zero.lr(2), cosAnneal(1, 1 / 25e4, 1 / 10), 1e-15);
  const groups = oneCycleSteps({ lrMax: [0.1, 1] }, 21);
  assertEquals(groups.lr(6), [0.1, 1]);
  assertThrows(
    () => oneCycleSteps({ lrMax: 1 }, 0),
    RangeError,
    "'nIter' must be a positive integer",
  );
  assertThrows(() => oneCycleSteps({ lrMax: 1, pctStart: 1 }, 5), RangeError, "'pctStart'");
});

Deno.test("oneCycleScheds() gives a number for one lrMax and one per group for a list, copied", () => {
  const one = oneCycleScheds({ lrMax: 0.1 }).lr(0);
  assertEquals(typeof one, "number");
  assertAlmostEquals(one, 0.1 / 25, 1e-15);
  const groups = [0.1, 0.01];
  const { lr } = oneCycleScheds({ lrMax: groups });
  groups[0] = 5; // changing the list afterwards changes nothing
  const [g0, g1] = lr(0);
  assertAlmostEquals(g0!, 0.1 / 25, 1e-15);
  assertAlmostEquals(g1!, 0.01 / 25, 1e-15);
  const steps = oneCycleSteps({ lrMax: groups.slice() }, 10);
  assertEquals(Array.isArray(steps.lr(0)), true);
});

Deno.test("oneCycleSteps() over a single batch: nIter = 1 is allowed", () => {
  const { lr, a1 } = oneCycleSteps({ lrMax: 1 }, 1);
  assertEquals([a1, lr(0)], [0, 1 / 25]);
  assertThrows(
    () => oneCycleSteps({ lrMax: 1 }, 0),
    RangeError,
    "'nIter' must be a positive integer",
  );
});
