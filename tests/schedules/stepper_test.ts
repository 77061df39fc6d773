import { assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
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

Deno.test("stepper() is exactly the start value before any step (v1's Scheduler.start)", () => {
  // annealing_cos(4e-4, 1e-2, 0) rounds to 3.999999999999993e-4; v1 sets opt.lr = start
  assertEquals(annealingCos(4e-4, 1e-2)(0) === 4e-4, false);
  assertEquals(stepper([4e-4, 1e-2], 6, annealingCos)(0), 4e-4);
  assertEquals(stepper([4e-4, 1e-2], 6, annealingCos)(6), 1e-2);
});
