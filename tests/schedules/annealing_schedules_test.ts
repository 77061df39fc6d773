import { assertAlmostEquals, assertThrows } from "@std/assert";
import {
  annealingCos,
  annealingExp,
  annealingLinear,
  annealingNo,
  annealingPoly,
} from "../../schedules/annealing.ts";

const PCTS = [0, 0.25, 0.5, 0.75, 1];

function close(actual: number[], expected: number[], tol = 1e-12): void {
  actual.forEach((a, i) => assertAlmostEquals(a, expected[i]!, tol, `at pct ${PCTS[i]}`));
}

Deno.test("annealingNo() is constant", () => {
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
