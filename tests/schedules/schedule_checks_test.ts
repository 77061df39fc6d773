// Every schedule constructor's and evaluator's argument checks, with the whole message
// (which function, which argument, the value), and the edges of what they accept: zero-width
// pieces, copies of the caller's arrays, boundary values of fractions.
import { assertEquals, assertThrows } from "@std/assert";
import {
  annealingCos,
  annealingExp,
  annealingLinear,
  annealingNo,
  annealingPoly,
  combineScheds,
  oneCycleScheds,
  piecewise,
  sgdrScheds,
  simulate,
  stepper,
  warmupCos,
} from "../../schedules/mod.ts";

Deno.test("each annealer names itself, the argument and the value when it refuses one", () => {
  const cases: [() => unknown, ErrorConstructor, string][] = [
    [
      () => annealingNo(NaN),
      RangeError,
      "Cannot create annealingNo as 'start' must be finite: current value is NaN",
    ],
    [
      () => annealingNo(1)(2),
      RangeError,
      "Cannot evaluate annealingNo as 'pct' must be in [0, 1]: current value is 2",
    ],
    [
      () => annealingLinear(Infinity, 0),
      RangeError,
      "Cannot create annealingLinear as 'start' must be finite: current value is Infinity",
    ],
    [
      () => annealingLinear(0, NaN),
      RangeError,
      "Cannot create annealingLinear as 'end' must be finite: current value is NaN",
    ],
    [
      () => annealingLinear(0, 1)(-0.5),
      RangeError,
      "Cannot evaluate annealingLinear as 'pct' must be in [0, 1]: current value is -0.5",
    ],
    [
      () => annealingCos(NaN, 0),
      RangeError,
      "Cannot create annealingCos as 'start' must be finite",
    ],
    [
      () => annealingCos(0, -Infinity),
      RangeError,
      "Cannot create annealingCos as 'end' must be finite: current value is -Infinity",
    ],
    [
      () => annealingCos(0, 1)(1.5),
      RangeError,
      "Cannot evaluate annealingCos as 'pct' must be in [0, 1]: current value is 1.5",
    ],
    [
      () => annealingExp(NaN, 1),
      RangeError,
      "Cannot create annealingExp as 'start' must be finite: current value is NaN",
    ],
    [
      () => annealingExp(1, NaN),
      RangeError,
      "Cannot create annealingExp as 'end' must be finite: current value is NaN",
    ],
    [
      () => annealingExp(0, 1),
      RangeError,
      "Cannot create annealingExp as 'start' must not be 0: current value is 0",
    ],
    [
      () => annealingExp(2, -1),
      RangeError,
      "Cannot create annealingExp as 'end' must have the sign of 'start' (2): current value is -1",
    ],
    [
      () => annealingExp(1, 2)(NaN),
      RangeError,
      "Cannot evaluate annealingExp as 'pct' must be in [0, 1]: current value is NaN",
    ],
    [
      () => annealingPoly(NaN),
      RangeError,
      "Cannot create annealingPoly as 'degree' must be finite: current value is NaN",
    ],
    [
      () => annealingPoly(2)(NaN, 0),
      RangeError,
      "Cannot create annealingPoly as 'start' must be finite: current value is NaN",
    ],
    [
      () => annealingPoly(2)(0, Infinity),
      RangeError,
      "Cannot create annealingPoly as 'end' must be finite",
    ],
    [
      () => annealingPoly(2)(1, 0)(2),
      RangeError,
      "Cannot evaluate annealingPoly as 'pct' must be in [0, 1]: current value is 2",
    ],
    [
      () => annealingLinear("1" as never, 0),
      TypeError,
      "Cannot create annealingLinear as 'start' must be a number: current type is string",
    ],
    [
      () => annealingNo(undefined as never),
      TypeError,
      "Cannot create annealingNo as 'start' must be a number: current type is undefined",
    ],
  ];
  for (const [make, kind, message] of cases) assertThrows(make, kind, message);
});

Deno.test("annealingExp() goes to zero from either sign, and refuses only opposite signs", () => {
  assertEquals(simulate(annealingExp(2, 0), 2), [2, 0]);
  assertEquals(Math.abs(annealingExp(-1, 0)(1)), 0);
  assertEquals(annealingExp(-2, -8)(0.5), -4);
  assertThrows(() => annealingExp(-1, 2), RangeError, "sign of 'start' (-1)");
});

Deno.test("combineScheds() checks its lists and copies them", () => {
  assertThrows(
    () => combineScheds([], []),
    RangeError,
    "Cannot create combineScheds as 'pcts' and 'scheds' must have the same non-zero length: " +
      "current lengths are 0 and 0",
  );
  assertThrows(() => combineScheds([1], []), RangeError, "current lengths are 1 and 0");
  assertThrows(
    () => combineScheds([0.5, -0.5], [annealingNo(1), annealingNo(2)]),
    RangeError,
    "Cannot create combineScheds as 'pcts[1]' must be a finite number >= 0: current value is -0.5",
  );
  assertThrows(
    () => combineScheds([0.5, 0.6], [annealingNo(1), annealingNo(2)]),
    RangeError,
    "Cannot create combineScheds as 'pcts' must sum to 1: current sum is 1.1",
  );
  assertThrows(
    () => combineScheds([1], [annealingNo(1)])(1.5),
    RangeError,
    "Cannot evaluate combineScheds as 'pct' must be in [0, 1]: current value is 1.5",
  );
  const scheds = [annealingNo(1), annealingNo(2)];
  const pcts = [0.5, 0.5];
  const f = combineScheds(pcts, scheds);
  scheds[0] = annealingNo(9);
  pcts[0] = 0.9;
  assertEquals(simulate(f, 4), [1, 1, 2, 2]);
});

Deno.test("combineScheds() with a last piece of width 0 gives that piece's end value at pct 1", () => {
  const f = combineScheds([1, 0], [annealingLinear(0, 1), annealingNo(5)]);
  assertEquals([f(0), f(0.5), f(1)], [0, 0.5, 5]);
  // a zero-width piece in the middle is skipped
  const g = combineScheds([0.5, 0, 0.5], [annealingNo(1), annealingNo(2), annealingNo(3)]);
  assertEquals([g(0.25), g(0.5), g(0.75)], [1, 3, 3]);
});

Deno.test("piecewise() checks and copies its lists", () => {
  assertThrows(
    () => piecewise({ boundaries: [0.5], values: [1, 2, 3] }),
    RangeError,
    "Cannot create piecewise as 'values' must have one more entry than 'boundaries' (1): " +
      "current length is 3",
  );
  assertThrows(
    () => piecewise({ boundaries: [0.5], values: [1, NaN] }),
    RangeError,
    "Cannot create piecewise as 'values[1]' must be finite: current value is NaN",
  );
  for (
    const [boundaries, i, range, v] of [
      [[0], 0, "(0, 1)", 0],
      [[1], 0, "(0, 1)", 1],
      [[0.5, 0.5], 1, "(0.5, 1)", 0.5],
      [[0.5, 0.25], 1, "(0.5, 1)", 0.25],
    ] as const
  ) {
    assertThrows(
      () => piecewise({ boundaries, values: boundaries.map(() => 1).concat(1) }),
      RangeError,
      `Cannot create piecewise as 'boundaries[${i}]' must be in ${range}: current value is ${v}`,
    );
  }
  assertThrows(
    () => piecewise({ boundaries: [], values: [1] })(2),
    RangeError,
    "Cannot evaluate piecewise as 'pct' must be in [0, 1]: current value is 2",
  );
  const boundaries = [0.5];
  const values = [1, 2];
  const f = piecewise({ boundaries, values });
  boundaries[0] = 0.1;
  values[1] = 7;
  assertEquals([f(0.25), f(0.5), f(1)], [1, 2, 2]);
});

Deno.test("oneCycleScheds() checks pctStart, finalDiv and moms, naming them", () => {
  oneCycleScheds({ lrMax: 1, pctStart: 0 }); // 0 is allowed
  for (const pctStart of [-0.1, 1]) {
    assertThrows(
      () => oneCycleScheds({ lrMax: 1, pctStart }),
      RangeError,
      `Cannot create oneCycle as 'pctStart' must be in [0, 1): current value is ${pctStart}`,
    );
  }
  assertThrows(
    () => oneCycleScheds({ lrMax: 1, finalDiv: 0 }),
    RangeError,
    "Cannot create oneCycle as 'finalDiv' must be > 0: current value is 0",
  );
  assertThrows(
    () => oneCycleScheds({ lrMax: 1, moms: [0.95, NaN, 0.95] }),
    RangeError,
    "Cannot create oneCycle as 'moms[1]' must be finite: current value is NaN",
  );
});

Deno.test("sgdrScheds() checks its options, naming them; one cycle is one cosine", () => {
  const cases: [object, string][] = [
    [{ lrMax: NaN }, "Cannot create sgdrScheds as 'lrMax' must be finite: current value is NaN"],
    [{ lrMax: 1, lrMin: Infinity }, "Cannot create sgdrScheds as 'lrMin' must be finite"],
    [
      { lrMax: 1, cycleMult: 0 },
      "Cannot create sgdrScheds as 'cycleMult' must be > 0: current value is 0",
    ],
    [
      { lrMax: 1, nCycles: 0 },
      "Cannot create sgdrScheds as 'nCycles' must be a positive integer: current value is 0",
    ],
    [{ lrMax: 1, nCycles: 1.5 }, "'nCycles' must be a positive integer: current value is 1.5"],
  ];
  for (const [options, message] of cases) {
    assertThrows(() => sgdrScheds(options as never), RangeError, message);
  }
  const one = sgdrScheds({ lrMax: 2, lrMin: 0, nCycles: 1 });
  for (const pct of [0, 0.25, 0.5, 1]) assertEquals(one(pct), annealingCos(2, 0)(pct));
});

Deno.test("simulate() refuses a negative or fractional count", () => {
  for (const n of [-1, 1.5, NaN]) {
    assertThrows(
      () => simulate(annealingNo(1), n),
      RangeError,
      `Cannot simulate as 'n' must be a non-negative integer: current value is ${n}`,
    );
  }
  assertEquals(simulate(annealingNo(1), 0), []);
});

Deno.test("stepper() checks its values and count, naming them", () => {
  assertThrows(
    () => stepper(NaN, 10),
    RangeError,
    "Cannot create stepper as 'start' must be finite: current value is NaN",
  );
  assertThrows(
    () => stepper([1, Infinity], 10),
    RangeError,
    "Cannot create stepper as 'end' must be finite: current value is Infinity",
  );
  assertThrows(
    () => stepper(1, NaN),
    RangeError,
    "Cannot create stepper as 'nIter' must be a number: current value is NaN",
  );
  assertThrows(
    () => stepper(1, 10)(-1),
    RangeError,
    "Cannot step as 'n' must be >= 0: current value is -1",
  );
});

Deno.test("warmupCos() takes pctWarmup from 0 to 1 inclusive and refuses the rest, naming it", () => {
  // all warm-up: linear from 0 to the peak, and at pct 1 the (zero-width) decay's end
  const all = warmupCos({ peak: 1, pctWarmup: 1 });
  assertEquals([all(0), all(0.5), all(0.99)], [0, 0.5, 0.99]);
  assertEquals(all(1), 0);
  const none = warmupCos({ peak: 1, pctWarmup: 0, end: 0 });
  assertEquals([none(0), none(1)], [1, 0]);
  for (const pctWarmup of [-0.1, 1.1]) {
    assertThrows(
      () => warmupCos({ peak: 1, pctWarmup }),
      RangeError,
      `Cannot create warmupCos as 'pctWarmup' must be in [0, 1]: current value is ${pctWarmup}`,
    );
  }
});
