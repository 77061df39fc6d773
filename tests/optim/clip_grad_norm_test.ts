import * as tf from "@tensorflow/tfjs";
import { assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { clipGradNorm, globalNorm } from "../../optim/clip_grad_norm.ts";
import { num, useCpu } from "../_helpers.ts";

await useCpu();

Deno.test("clipGradNorm() scales by maxNorm / (norm + 1e-6) above the limit and leaves the rest", async () => {
  const g = { a: tf.tensor1d([3, 0]), b: tf.tensor2d([[0, 4]]) }; // norm 5
  assertAlmostEquals(await num(globalNorm(g)), 5, 1e-6);
  const c = clipGradNorm(g, 2);
  const scale = 2 / (5 + 1e-6);
  assertAlmostEquals((await c.a!.data())[0]!, 3 * scale, 1e-6);
  assertAlmostEquals((await c.b!.data())[1]!, 4 * scale, 1e-6);
  assertEquals(c.b!.shape, [1, 2]);
  const same = clipGradNorm(g, 10);
  assertAlmostEquals((await same.a!.data())[0]!, 3, 1e-6);
  assertEquals((await g.a.data())[0], 3); // inputs untouched
  assertThrows(() => clipGradNorm(g, 0), RangeError, "'maxNorm'");
  tf.dispose([g.a, g.b, ...Object.values(c), ...Object.values(same)]);
});
