import { assert, assertEquals, assertNotEquals, assertRejects, assertThrows } from "@std/assert";
import {
  choice,
  grid,
  intUniform,
  isDimension,
  logUniform,
  random,
  uniform,
} from "../../sweep/search_space.ts";
import { sweep } from "../../sweep/sweep.ts";

const CTX = { history: [], direction: "minimize" } as const;

Deno.test("grid() plans every combination of the choices, constants fixed, last varying fastest", () => {
  const plan = grid().plan({ a: choice([1, 2, 3]), b: choice(["x", "y"]), c: true });
  assertEquals(plan.length, 6);
  assertEquals(plan[0], { a: 1, b: "x", c: true });
  assertEquals(plan[1], { a: 1, b: "y", c: true });
  assertEquals(plan[5], { a: 3, b: "y", c: true });
  const typed: number = plan[0]!.a; // the parameters are typed from the space
  const label: string = plan[0]!.b;
  assertEquals([typed, label], [1, "x"]);
  assertThrows(() => grid().plan({ lr: uniform(0, 1) }), TypeError, "'lr' is uniform");
});

Deno.test("random() is deterministic by seed, draws in range, and extends with n", () => {
  const space = {
    lr: logUniform(1e-5, 1e-1),
    wd: uniform(0, 0.1),
    width: intUniform(8, 12),
    act: choice(["relu", "tanh"]),
    k: 3,
  };
  const a = random({ n: 200, seed: 7 }).plan(space);
  assertEquals(a, random({ n: 200, seed: 7 }).plan(space));
  assertNotEquals(a, random({ n: 200, seed: 8 }).plan(space));
  assertEquals(random({ n: 10, seed: 7 }).plan(space), a.slice(0, 10));
  for (const p of a) {
    assert(p.lr >= 1e-5 && p.lr < 1e-1);
    assert(p.wd >= 0 && p.wd < 0.1);
    assert(Number.isInteger(p.width) && p.width >= 8 && p.width <= 12);
    assert(p.act === "relu" || p.act === "tanh");
    assertEquals(p.k, 3);
  }
  // log-uniform: about half the draws below the geometric midpoint 1e-3
  const below = a.filter((p) => p.lr < 1e-3).length;
  assert(below > 70 && below < 130, `${below}`);
  assertEquals(new Set(a.map((p) => p.width)).size, 5);
});

Deno.test("dimensions validate their arguments", () => {
  assertThrows(() => choice([]), RangeError, "'values' must not be empty");
  assertThrows(() => uniform(1, 0), RangeError, "lo <= hi");
  assertThrows(() => logUniform(0, 1), RangeError, "'lo' must be > 0");
  assertThrows(() => intUniform(0.5, 2), RangeError, "must be integers");
  assertThrows(() => random({ n: 0 }), RangeError, "'n'");
});

Deno.test("grid().sample() past the plan is refused, naming the plan's size", () => {
  const space = { a: choice([1, 2]), b: choice(["x", "y"]) };
  assertEquals(grid().sample(space, 3, CTX), { a: 2, b: "y" });
  assertThrows(
    () => grid().sample(space, 4, CTX),
    RangeError,
    "Cannot sample the grid as 'index' must be below 4: current value is 4",
  );
});

Deno.test("random() runs exactly n trials, and a journal from another seed is refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const storage = `${dir}/journal.jsonl`;
    const space = { lr: logUniform(1e-4, 1e-1) };
    assertEquals(random({ n: 3 }).size(space), 3);
    const first = await sweep({
      space,
      sampler: random({ n: 3, seed: 1 }),
      storage,
      trial: ({ lr }) => lr,
    });
    assertEquals(first.trials.length, 3);
    // the same sampler resumes (nothing to run); another seed plans other trials
    const again = await sweep({
      space,
      sampler: random({ n: 3, seed: 1 }),
      storage,
      trial: ({ lr }) => lr,
    });
    assertEquals(again.trials.map((t) => t.params), first.trials.map((t) => t.params));
    await assertRejects(
      () => sweep({ space, sampler: random({ n: 3, seed: 2 }), storage, trial: ({ lr }) => lr }),
      RangeError,
      "where this sweep's sampler gives",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("isDimension() is true only for the four dimension records", () => {
  const fn = Object.assign(() => 0, { kind: "choice" }); // a constant that is a function
  assertEquals([isDimension(fn), isDimension({ kind: "choice", values: [1] })], [false, true]);
  assertEquals([isDimension(null), isDimension({ kind: "normal" }), isDimension("choice")], [
    false,
    false,
    false,
  ]);
});
