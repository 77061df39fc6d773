// Search spaces, exactly: random() against the draws written out from their definitions
// over the shared generator (core/_rng.ts, tested on its own: trial i of seed s draws from
// mulberry32(mixSeed(s, i)), one number per dimension in key order), grid() edge cases, and
// every dimension's argument checks with their messages. Imports the public sweep entry.
import { assert, assertEquals, assertThrows } from "@std/assert";
import {
  choice,
  grid,
  intUniform,
  isDimension,
  logUniform,
  random,
  uniform,
} from "../../sweep/mod.ts";
import { mixSeed, mulberry32 } from "../../core/_rng.ts";

Deno.test("random() draws each dimension by its formula from the trial's own generator", () => {
  const space = {
    act: choice(["relu", "tanh", "gelu"]),
    wd: uniform(0.25, 0.75),
    k: "fixed",
    lr: logUniform(1e-4, 1),
    width: intUniform(3, 6),
  };
  const plan = random({ n: 40, seed: 5 }).plan(space);
  assertEquals(plan.length, 40);
  plan.forEach((p, i) => {
    const r = mulberry32(mixSeed(5, i));
    const [a, w, l, n] = [r(), r(), r(), r()]; // "k" is a constant: it draws nothing
    const want = {
      act: ["relu", "tanh", "gelu"][Math.floor(a * 3)],
      wd: 0.25 + w * 0.5,
      k: "fixed",
      lr: Math.exp(Math.log(1e-4) + l * (0 - Math.log(1e-4))),
      width: 3 + Math.floor(n * 4),
    };
    assertEquals(p, want, `trial ${i}`);
  });
  // every value of the small dimensions comes up
  assertEquals(new Set(plan.map((p) => p.act)).size, 3);
  assertEquals([...new Set(plan.map((p) => p.width))].sort(), [3, 4, 5, 6]);
});

Deno.test("random() with the default seed 0, and a name that says n and seed", () => {
  const space = { x: uniform(0, 1) };
  const plan = random({ n: 3 }).plan(space);
  plan.forEach((p, i) => assertEquals(p.x, mulberry32(mixSeed(0, i))()));
  assertEquals(random({ n: 3 }).name, "random(n=3, seed=0)");
  assertEquals(random({ n: 7, seed: 2 }).name, "random(n=7, seed=2)");
  assertEquals(grid().name, "grid");
  for (const n of [0, -1, 1.5, NaN]) {
    assertThrows(
      () => random({ n }),
      RangeError,
      `Cannot create random as 'n' must be a positive integer: current value is ${n}`,
    );
  }
  assertEquals(random({ n: 1 }).plan(space).length, 1);
});

Deno.test("degenerate ranges draw their one value", () => {
  const plan = random({ n: 5, seed: 1 }).plan({
    u: uniform(2, 2),
    l: logUniform(3, 3),
    i: intUniform(4, 4),
    c: choice(["only"]),
  });
  for (const p of plan) {
    assertEquals([p.u, p.i, p.c], [2, 4, "only"]);
    assert(Math.abs(p.l - 3) < 1e-12);
  }
});

Deno.test("grid() edge cases: no dimension, constants only, one choice, refused kinds", () => {
  assertEquals(grid().plan({}), [{}]);
  assertEquals(grid().plan({ a: 1, b: "x" }), [{ a: 1, b: "x" }]);
  assertEquals(grid().plan({ a: choice([1]), b: choice([2, 3]) }), [{ a: 1, b: 2 }, {
    a: 1,
    b: 3,
  }]);
  // a value that looks like a dimension only by accident is a constant
  assertEquals(grid().plan({ a: { kind: "other" } }), [{ a: { kind: "other" } }]);
  for (const [k, d] of [["u", uniform(0, 1)], ["l", logUniform(1, 2)], ["i", intUniform(1, 2)]]) {
    assertThrows(
      () => grid().plan({ [k as string]: d }),
      TypeError,
      `Cannot plan a grid as '${k}' is ${(d as { kind: string }).kind}: a grid takes choice() ` +
        "and constants only",
    );
  }
});

Deno.test("isDimension() knows the four kinds and nothing else", () => {
  for (const d of [choice([1]), uniform(0, 1), logUniform(1, 2), intUniform(0, 1)]) {
    assert(isDimension(d), JSON.stringify(d));
  }
  for (const v of [null, undefined, 3, "choice", { kind: "grid" }, {}, [], { kind: 1 }]) {
    assertEquals(isDimension(v), false, JSON.stringify(v));
  }
  // a function with a kind is not a record
  assertEquals(isDimension(Object.assign(() => {}, { kind: "choice" })), false);
});

Deno.test("dimensions check their arguments and name the values", () => {
  assertThrows(
    () => choice([]),
    RangeError,
    "Cannot create choice as 'values' must not be empty: current length is 0",
  );
  const values = [1, 2];
  const c = choice(values);
  values.push(3);
  assertEquals(c.values, [1, 2]); // a copy
  assertEquals(c.kind, "choice");
  for (const [lo, hi] of [[1, 0], [NaN, 1], [0, Infinity], [-Infinity, 0]]) {
    for (const [name, make] of [["uniform", uniform], ["logUniform", logUniform]] as const) {
      assertThrows(
        () => make(lo!, hi!),
        RangeError,
        `Cannot create ${name} as 'lo' and 'hi' must be finite with lo <= hi: current values ` +
          `are ${lo} and ${hi}`,
      );
    }
  }
  assertThrows(() => intUniform(2, 1), RangeError, "Cannot create intUniform as 'lo' and 'hi'");
  assertEquals(uniform(1, 1), { kind: "uniform", lo: 1, hi: 1 });
  assertEquals(uniform(-2, 3), { kind: "uniform", lo: -2, hi: 3 });
  for (const lo of [0, -1]) {
    assertThrows(
      () => logUniform(lo, 1),
      RangeError,
      `Cannot create logUniform as 'lo' must be > 0: current value is ${lo}`,
    );
  }
  assertEquals(logUniform(1e-3, 1), { kind: "logUniform", lo: 1e-3, hi: 1 });
  for (const [lo, hi] of [[0.5, 2], [1, 2.5]]) {
    assertThrows(
      () => intUniform(lo!, hi!),
      RangeError,
      `Cannot create intUniform as 'lo' and 'hi' must be integers: current values are ${lo} and ${hi}`,
    );
  }
  assertEquals(intUniform(-3, 3), { kind: "intUniform", lo: -3, hi: 3 });
});
