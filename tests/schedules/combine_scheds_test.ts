import { assertAlmostEquals, assertThrows } from "@std/assert";
import { combineScheds } from "../../schedules/combine_scheds.ts";
import { annealingCos, annealingLinear, annealingNo } from "../../schedules/annealing.ts";

Deno.test("combineScheds() runs each piece over its own local 0..1", () => {
  const s = combineScheds([0.25, 0.75], [annealingLinear(0, 1), annealingLinear(1, 0)]);
  assertAlmostEquals(s(0), 0);
  assertAlmostEquals(s(0.125), 0.5);
  assertAlmostEquals(s(0.25), 1); // boundary: second piece at local 0
  assertAlmostEquals(s(0.5), 2 / 3);
  assertAlmostEquals(s(0.75), 1 / 3);
  assertAlmostEquals(s(1), 0);
});

Deno.test("combineScheds() starts the later piece exactly at a boundary", () => {
  const s = combineScheds([0.5, 0.5], [annealingNo(1), annealingNo(2)]);
  assertAlmostEquals(s(0.4999999), 1);
  assertAlmostEquals(s(0.5), 2);
});

Deno.test("combineScheds() skips zero-length pieces", () => {
  const s = combineScheds([0.5, 0, 0.5], [annealingNo(1), annealingNo(99), annealingCos(2, 0)]);
  assertAlmostEquals(s(0.5), 2);
  assertAlmostEquals(s(0.75), 1);
});

Deno.test("combineScheds() rejects bad fractions naming them", () => {
  assertThrows(
    () => combineScheds([0.5, 0.4], [annealingNo(1), annealingNo(2)]),
    RangeError,
    "sum to 1",
  );
  assertThrows(
    () => combineScheds([1.5, -0.5], [annealingNo(1), annealingNo(2)]),
    RangeError,
    "'pcts[1]' must be a finite number >= 0: current value is -0.5",
  );
  assertThrows(() => combineScheds([1], []), RangeError, "same non-zero length");
  assertThrows(
    () => combineScheds([NaN, 1], [annealingNo(1), annealingNo(2)]),
    RangeError,
    "pcts[0]",
  );
  combineScheds([0.1, 0.2, 0.7 + 5e-10], [annealingNo(1), annealingNo(2), annealingNo(3)]);
});
