import { assertAlmostEquals, assertThrows } from "@std/assert";
import { schedCos, schedExp, schedLin, schedNo, schedPoly } from "../../schedules/sched.ts";

const PCTS = [0, 0.25, 0.5, 0.75, 1];

function close(actual: number[], expected: number[], tol = 1e-12): void {
  actual.forEach((a, i) => assertAlmostEquals(a, expected[i]!, tol, `at pct ${PCTS[i]}`));
}

Deno.test("schedNo() is constant", () => {
  close(PCTS.map(schedNo(0.3)), [0.3, 0.3, 0.3, 0.3, 0.3]);
});

Deno.test("schedLin() ramps linearly", () => {
  close(PCTS.map(schedLin(0, 1)), [0, 0.25, 0.5, 0.75, 1]);
});

Deno.test("schedCos() matches the cosine formula at quarter points", () => {
  const c = Math.SQRT1_2;
  close(PCTS.map(schedCos(1, 0)), [1, (1 + c) / 2, 0.5, (1 - c) / 2, 0]);
});

Deno.test("schedExp() is geometric", () => {
  close(PCTS.map(schedExp(1e-7, 10)), [1e-7, 1e-5, 1e-3, 1e-1, 10].map((v) => v), 1e-9);
  assertAlmostEquals(schedExp(1e-7, 10)(0.25) / 1e-5, 1, 1e-9);
});

Deno.test("schedPoly() is polynomial in (1 - pct)", () => {
  close(PCTS.map(schedPoly(2, 1, 3)), [2, 1 + 27 / 64, 1.125, 1 + 1 / 64, 1]);
});

Deno.test("schedule constructors validate their arguments", () => {
  assertThrows(() => schedNo(NaN), RangeError, "'value' must be finite");
  assertThrows(() => schedLin(0, Infinity), RangeError, "'end' must be finite");
  assertThrows(() => schedCos(-Infinity, 0), RangeError, "'start' must be finite");
  assertThrows(() => schedExp(0, 1), RangeError, "'start' must not be 0");
  assertThrows(() => schedExp(-1, 1), RangeError, "sign");
  assertThrows(() => schedPoly(1, 0, NaN), RangeError, "'power' must be finite");
  assertThrows(() => schedLin("1" as unknown as number, 2), TypeError, "'start' must be a number");
  assertThrows(() => schedLin(0, 1)(1.5), RangeError, "'pct' must be in [0, 1]");
});
