import { assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { oneCycleScheds } from "../../schedules/one_cycle_scheds.ts";

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
