// sgdrScheds, warmupCos, piecewise and simulate.
import { assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import {
  annealingLinear,
  piecewise,
  sgdrScheds,
  simulate,
  warmupCos,
} from "../../schedules/mod.ts";

Deno.test("sgdrScheds() restarts at each cycle boundary with growing cycles", () => {
  const s = sgdrScheds({ lrMax: 1, lrMin: 0.1, nCycles: 2, cycleMult: 3 });
  // cycles of 1/4 and 3/4
  assertAlmostEquals(s(0), 1);
  assertAlmostEquals(s(0.125), 0.55);
  assertAlmostEquals(s(0.25), 1);
  assertAlmostEquals(s(0.625), 0.55);
  assertAlmostEquals(s(1), 0.1);
  assertThrows(() => sgdrScheds({ lrMax: 1, nCycles: 0 }), RangeError, "'nCycles'");
});

Deno.test("warmupCos() warms up linearly then decays by cosine", () => {
  const s = warmupCos({ start: 0.1, peak: 1, end: 0, pctWarmup: 0.5 });
  assertAlmostEquals(s(0), 0.1);
  assertAlmostEquals(s(0.25), 0.55);
  assertAlmostEquals(s(0.5), 1);
  assertAlmostEquals(s(0.75), 0.5);
  assertAlmostEquals(s(1), 0);
  assertThrows(() => warmupCos({ peak: 1, pctWarmup: 2 }), RangeError, "'pctWarmup'");
});

Deno.test("piecewise() changes value at the boundaries", () => {
  const s = piecewise({ boundaries: [0.25, 0.75], values: [3, 2, 1] });
  assertEquals([0, 0.25, 0.5, 0.75, 1].map(s), [3, 2, 2, 1, 1]);
  assertThrows(() => piecewise({ boundaries: [0.5], values: [1] }), RangeError, "one more");
  assertThrows(
    () => piecewise({ boundaries: [0.5, 0.4], values: [1, 2, 3] }),
    RangeError,
    "'boundaries[1]' must be in (0.5, 1): current value is 0.4",
  );
});

Deno.test("simulate() returns the value each of n steps sees", () => {
  assertEquals(simulate(annealingLinear(0, 1), 4), [0, 0.25, 0.5, 0.75]);
  assertEquals(simulate(annealingLinear(0, 1), 0), []);
  assertThrows(() => simulate(annealingLinear(0, 1), 1.5), RangeError, "'n'");
});
