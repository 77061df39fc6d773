import { assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import {
  annealingCos,
  annealingExp,
  annealingLinear,
  annealingNo,
  annealingPoly,
} from "../../schedules/annealing.ts";

const PCTS = [0, 0.25, 0.5, 0.75, 1];

function close(actual: number[], expected: number[], tol = 1e-12): void {
  assertEquals(actual.length, expected.length);
  actual.forEach((a, i) => assertAlmostEquals(a, expected[i]!, tol, `at index ${i}`));
}

Deno.test("annealingNo() returns start at every pct", () => {
  close(PCTS.map((p) => annealingNo(2, 8)(p)), [2, 2, 2, 2, 2]);
});

Deno.test("annealingLinear() interpolates start + pct * (end - start)", () => {
  close(PCTS.map((p) => annealingLinear(2, 10)(p)), [2, 4, 6, 8, 10]);
  close(PCTS.map((p) => annealingLinear(1, -1)(p)), [1, 0.5, 0, -0.5, -1]);
});

Deno.test("annealingCos() follows end + (start - end)/2 * (cos(pi pct) + 1)", () => {
  // cos(pi/4) = 0.70710678..., so the value at 0.25 is 1 + 1 * 1.7071 = 2.7071...
  close(PCTS.map((p) => annealingCos(3, 1)(p)), [
    3,
    1 + (1 + Math.SQRT1_2),
    2,
    1 + (1 - Math.SQRT1_2),
    1,
  ]);
});

Deno.test("annealingExp() multiplies geometrically from start to end", () => {
  close(PCTS.map((p) => annealingExp(1, 16)(p)), [1, 2, 4, 8, 16]);
  close(PCTS.map((p) => annealingExp(-1, -16)(p)), [-1, -2, -4, -8, -16]);
});

Deno.test("annealingExp() rejects a zero start and start and end of different signs", () => {
  assertThrows(() => annealingExp(0, 1)(0.5), RangeError, "'start' must not be 0");
  assertThrows(() => annealingExp(1, -1)(0.5), RangeError, "'end' must have the sign");
  assertThrows(() => annealingExp(1, Infinity)(0.5), RangeError, "'end' must be finite");
});

Deno.test("annealingPoly(degree) gives end + (start - end) * (1 - pct)^degree", () => {
  close(PCTS.map((p) => annealingPoly(2)(1, 0)(p)), [1, 0.5625, 0.25, 0.0625, 0]);
  close(PCTS.map((p) => annealingPoly(1)(4, 0)(p)), [4, 3, 2, 1, 0]);
  assertThrows(() => annealingPoly(NaN), RangeError, "'degree' must be finite");
});

Deno.test("annealers reject pct outside [0, 1] naming the value", () => {
  for (const f of [annealingNo, annealingLinear, annealingCos, annealingExp, annealingPoly(2)]) {
    assertThrows(() => f(1, 2)(1.2), RangeError, "'pct' must be in [0, 1]: current value is 1.2");
    assertThrows(() => f(1, 2)(-0.1), RangeError, "current value is -0.1");
    assertThrows(() => f(1, 2)(NaN), RangeError, "current value is NaN");
  }
});
