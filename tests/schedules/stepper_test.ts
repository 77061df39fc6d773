import { assertAlmostEquals, assertThrows } from "@std/assert";
import { stepper } from "../../schedules/stepper.ts";
import { annealingCos } from "../../schedules/annealing.ts";

Deno.test("stepper([start, end], n) anneals linearly by default", () => {
  const at = stepper([1, 5], 4);
  [1, 2, 3, 4, 5].forEach((v, n) => assertAlmostEquals(at(n), v));
  assertAlmostEquals(at(9), 5); // past nIter: stays at the end
});

Deno.test("stepper(value) holds the value (annealingNo, end 0)", () => {
  const at = stepper(0.3, 10);
  assertAlmostEquals(at(0), 0.3);
  assertAlmostEquals(at(7), 0.3);
});

Deno.test("stepper() uses the given annealer and treats nIter < 1 as 1", () => {
  const at = stepper([1, 0], 2, annealingCos);
  assertAlmostEquals(at(1), 0.5);
  const one = stepper([0, 1], 0);
  assertAlmostEquals(one(0), 0);
  assertAlmostEquals(one(1), 1);
  assertThrows(() => at(-1), RangeError, "'n' must be >= 0");
  assertThrows(() => stepper([0, NaN], 3), RangeError, "'end' must be finite");
});
