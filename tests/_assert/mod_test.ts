// Checks the offline stand-in for @std/assert: every assertion must fail when it should,
// or tests that use it could pass without checking anything. Meta-assertions use node's.
import nodeAssert from "node:assert/strict";
import * as a from "./mod.ts";

function throwsAssertion(run: () => unknown): void {
  nodeAssert.throws(run, (e: unknown) => e instanceof a.AssertionError);
}

Deno.test("assertEquals() fails on unequal values and passes on deep-equal ones", () => {
  throwsAssertion(() => a.assertEquals(1, 2));
  throwsAssertion(() => a.assertEquals({ x: [1, 2] }, { x: [1, 3] }));
  throwsAssertion(() => a.assertEquals([1, 2], [1, 2, 3]));
  throwsAssertion(() => a.assertEquals<unknown>(new Float32Array([1]), [1]));
  a.assertEquals({ x: [1, 2], y: "s" }, { x: [1, 2], y: "s" });
});

Deno.test("assertAlmostEquals() fails outside the tolerance and passes inside it", () => {
  throwsAssertion(() => a.assertAlmostEquals(1, 1.001, 1e-4));
  throwsAssertion(() => a.assertAlmostEquals(1, 1 + 1e-6));
  throwsAssertion(() => a.assertAlmostEquals(NaN, 1, 1));
  a.assertAlmostEquals(1, 1 + 1e-8);
  a.assertAlmostEquals(NaN, NaN);
  a.assertAlmostEquals(1, 1.001, 1e-2);
});

Deno.test("assert(), assertFalse(), strict and not-equal checks fail when they should", () => {
  throwsAssertion(() => a.assert(false));
  throwsAssertion(() => a.assert(0));
  throwsAssertion(() => a.assertFalse(1));
  throwsAssertion(() => a.assertStrictEquals({}, {}));
  throwsAssertion(() => a.assertNotEquals([1], [1]));
  throwsAssertion(() => a.assertNotStrictEquals(1, 1));
  throwsAssertion(() => a.assertExists(undefined));
  throwsAssertion(() => a.assertExists(null));
  throwsAssertion(() => a.assertInstanceOf(new Error("x"), RangeError));
  throwsAssertion(() => a.assertGreater(1, 1));
  throwsAssertion(() => a.assertGreaterOrEqual(0, 1));
  throwsAssertion(() => a.assertLess(2, 1));
  throwsAssertion(() => a.assertLessOrEqual(2, 1));
  throwsAssertion(() => a.assertStringIncludes("abc", "d"));
  throwsAssertion(() => a.assertMatch("abc", /^b/));
  throwsAssertion(() => a.assertArrayIncludes([1, 2], [3]));
  throwsAssertion(() => a.assertObjectMatch({ a: 1, b: 2 }, { a: 2 }));
  throwsAssertion(() => a.fail("no"));
  throwsAssertion(() => a.unreachable());
  a.assert(true);
  a.assertStrictEquals(1, 1);
  a.assertGreater(2, 1);
  a.assertObjectMatch({ a: 1, b: 2 }, { a: 1 });
});

Deno.test("assertThrows() fails when nothing throws or the class or message differs", () => {
  throwsAssertion(() => a.assertThrows(() => 1));
  throwsAssertion(() =>
    a.assertThrows(() => {
      throw new TypeError("x");
    }, RangeError)
  );
  throwsAssertion(() =>
    a.assertThrows(
      () => {
        throw new RangeError("abc");
      },
      RangeError,
      "zzz",
    )
  );
  const e = a.assertThrows(
    () => {
      throw new RangeError("abc");
    },
    RangeError,
    "b",
  );
  nodeAssert.equal(e.message, "abc");
});

Deno.test("assertRejects() fails when the promise resolves or rejects with another class", async () => {
  await nodeAssert.rejects(a.assertRejects(() => Promise.resolve(1)), a.AssertionError);
  await nodeAssert.rejects(
    a.assertRejects(() => Promise.reject(new TypeError("t")), RangeError),
    a.AssertionError,
  );
  const e = await a.assertRejects(() => Promise.reject(new RangeError("r")), RangeError, "r");
  nodeAssert.equal(e.message, "r");
});
