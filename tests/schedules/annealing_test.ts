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

// The same functions as the schedules callbacks take (one vocabulary).
Deno.test("annealingNo(value) is constant (as a schedule)", () => {
  close(PCTS.map(annealingNo(0.3)), [0.3, 0.3, 0.3, 0.3, 0.3]);
});

Deno.test("annealingLinear() ramps linearly", () => {
  close(PCTS.map(annealingLinear(0, 1)), [0, 0.25, 0.5, 0.75, 1]);
});

Deno.test("annealingCos() matches the cosine formula at quarter points", () => {
  const c = Math.SQRT1_2;
  close(PCTS.map(annealingCos(1, 0)), [1, (1 + c) / 2, 0.5, (1 - c) / 2, 0]);
});

Deno.test("annealingExp() is geometric", () => {
  close(PCTS.map(annealingExp(1e-7, 10)), [1e-7, 1e-5, 1e-3, 1e-1, 10].map((v) => v), 1e-9);
  assertAlmostEquals(annealingExp(1e-7, 10)(0.25) / 1e-5, 1, 1e-9);
});

Deno.test("annealingPoly() is polynomial in (1 - pct)", () => {
  close(PCTS.map(annealingPoly(3)(2, 1)), [2, 1 + 27 / 64, 1.125, 1 + 1 / 64, 1]);
});

Deno.test("schedule constructors validate their arguments", () => {
  assertThrows(() => annealingNo(NaN), RangeError, "'start' must be finite");
  assertThrows(() => annealingLinear(0, Infinity), RangeError, "'end' must be finite");
  assertThrows(() => annealingCos(-Infinity, 0), RangeError, "'start' must be finite");
  assertThrows(() => annealingExp(0, 1), RangeError, "'start' must not be 0");
  assertThrows(() => annealingExp(-1, 1), RangeError, "sign");
  assertThrows(() => annealingPoly(NaN)(1, 0), RangeError, "'degree' must be finite");
  assertThrows(
    () => annealingLinear("1" as unknown as number, 2),
    TypeError,
    "'start' must be a number",
  );
  assertThrows(() => annealingLinear(0, 1)(1.5), RangeError, "'pct' must be in [0, 1]");
});
