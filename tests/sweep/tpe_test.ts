import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertNotEquals,
  assertThrows,
} from "@std/assert";
import { categoricalProbabilities, logDensity, numericMixture } from "../../sweep/_parzen.ts";
import { choice, intUniform, logUniform, random, uniform } from "../../sweep/search_space.ts";
import { sweep } from "../../sweep/sweep.ts";
import { tpe } from "../../sweep/tpe_sampler.ts";
import type { TrialRecord, TrialStatus } from "../../sweep/types.ts";

const rec = (
  index: number,
  params: Record<string, unknown>,
  objective: number | null,
  status: TrialStatus = "finished",
  epochs = 3,
): TrialRecord => ({
  key: JSON.stringify(params),
  index,
  params,
  status,
  objective,
  epochs: Array.from({ length: epochs }, () => ({})),
  seconds: 0,
});

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[xs.length >> 1]!;

Deno.test("the Parzen estimators: bandwidths by hand, densities that integrate to one", () => {
  // one observation at 2 in [0, 10] and the prior at 5: gaps 2|3 -> 3, clipped up to 10/3
  const m = numericMixture([2], [1], 0, 10, 0, 1);
  assertEquals(m.mus, [2, 5]);
  assertAlmostEquals(m.sigmas[0]!, 10 / 3, 1e-12);
  assertEquals(m.sigmas[1], 10);
  assertEquals(m.weights, [0.5, 0.5]);
  let integral = 0;
  const h = 1e-3;
  for (let x = 0; x < 10; x += h) {
    integral += h * (Math.exp(logDensity(m, x)) + Math.exp(logDensity(m, x + h))) / 2;
  }
  assertAlmostEquals(integral, 1, 1e-4);
  const ints = numericMixture([3, 4, 9], [1, 1, 1], 1, 10, 1, 1);
  let total = 0;
  for (let k = 1; k <= 10; k++) total += Math.exp(logDensity(ints, k));
  assertAlmostEquals(total, 1, 1e-6);
  // categorical: the observation's row [0.2, 0.6, 0.2], the prior's [1/3, 1/3, 1/3], half each
  const p = categoricalProbabilities([1], [1], 3, 1);
  const third = 1 / 3;
  [(0.2 + third) / 2, (0.6 + third) / 2, (0.2 + third) / 2].forEach((v, i) =>
    assertAlmostEquals(p[i]!, v, 1e-12)
  );
});

const space = { x: uniform(0, 10), k: 3 };
const history = Array.from({ length: 20 }, (_, i) => rec(i, { x: i / 2, k: 3 }, (i / 2 - 7) ** 2));

// Both estimators: the joint one (the default) and Optuna's classic per-parameter one.
for (const multivariate of [true, false]) {
  const mode = multivariate ? "multivariate" : "independent";
  Deno.test(`tpe() starts as random search, then is a pure function of seed, index and history (${mode})`, () => {
    const sampler = tpe({ multivariate, n: 50, seed: 3, startupTrials: 10 });
    const few = history.slice(0, 9);
    for (let i = 0; i < 5; i++) {
      assertEquals(
        sampler.sample(space, i, { history: few, direction: "minimize" }),
        random({ n: 50, seed: 3 }).sample(space, i, { history: [], direction: "minimize" }),
      );
    }
    const a = sampler.sample(space, 20, { history, direction: "minimize" });
    const shuffled = history.slice().reverse();
    assertEquals(sampler.sample(space, 20, { history: shuffled, direction: "minimize" }), a);
    assertNotEquals(
      tpe({ multivariate, n: 50, seed: 4 }).sample(space, 20, { history, direction: "minimize" }),
      a,
    );
    assertEquals(a.k, 3);
  });

  Deno.test(`tpe() samples where the good trials are: floats, log scale, integers, categories (${mode})`, () => {
    const ctx = { history, direction: "minimize" as const };
    const xs = Array.from(
      { length: 40 },
      (_, i) => tpe({ multivariate, n: 99, seed: i }).sample(space, 20, ctx).x as number,
    );
    assert(Math.abs(median(xs) - 7) < 1, `median ${median(xs)}`);
    // maximize flips the split: the good trials are the far ones (x near 0)
    const far = Array.from(
      { length: 40 },
      (_, i) =>
        tpe({ multivariate, n: 99, seed: i }).sample(space, 20, { history, direction: "maximize" })
          .x as number,
    );
    assert(median(far) < 2, `median ${median(far)}`);

    const logSpace = { lr: logUniform(1e-6, 1) };
    const logHistory = Array.from({ length: 24 }, (_, i) => {
      const lr = 10 ** (-6 + i / 4);
      return rec(i, { lr }, Math.abs(Math.log10(lr) + 4));
    });
    const lrs = Array.from(
      { length: 40 },
      (_, i) =>
        tpe({ multivariate, n: 99, seed: i }).sample(logSpace, 24, {
          history: logHistory,
          direction: "minimize",
        })
          .lr as number,
    );
    assert(median(lrs) > 1e-5 && median(lrs) < 1e-3, `median lr ${median(lrs)}`);

    const intSpace = { k: intUniform(1, 100) };
    const intHistory = Array.from(
      { length: 25 },
      (_, i) => rec(i, { k: 1 + 4 * i }, Math.abs(1 + 4 * i - 80)),
    );
    const ks = Array.from(
      { length: 40 },
      (_, i) =>
        tpe({ multivariate, n: 99, seed: i }).sample(intSpace, 25, {
          history: intHistory,
          direction: "minimize",
        })
          .k as number,
    );
    assert(ks.every((k) => Number.isInteger(k) && k >= 1 && k <= 100), ks.join(" "));
    assert(Math.abs(median(ks) - 80) <= 10, `median k ${median(ks)}`);

    const catSpace = { act: choice(["relu", "tanh", "gelu"]) };
    const catHistory = Array.from({ length: 15 }, (_, i) => {
      const act = ["relu", "tanh", "gelu"][i % 3]!;
      return rec(i, { act }, act === "gelu" ? 0 : 1 + i / 100);
    });
    const acts = Array.from(
      { length: 40 },
      (_, i) =>
        tpe({ multivariate, n: 99, seed: i }).sample(catSpace, 15, {
          history: catHistory,
          direction: "minimize",
        })
          .act,
    );
    assert(acts.filter((a) => a === "gelu").length >= 32, acts.join(" "));
  });

  Deno.test(`tpe() counts pruned trials with their last value and ignores failed ones (${mode})`, () => {
    // only pruned trials: TPE uses them (no random fallback) and goes where their values were best
    const pruned = history.map((r) => ({ ...r, status: "pruned" as const }));
    const xs = Array.from(
      { length: 40 },
      (_, i) =>
        tpe({ multivariate, n: 99, seed: i }).sample(space, 20, {
          history: pruned,
          direction: "minimize",
        })
          .x as number,
    );
    assert(Math.abs(median(xs) - 7) < 1, `median ${median(xs)}`);
    // a pruned trial that reached more epochs ranks before one that reached fewer
    const deep = [
      ...Array.from(
        { length: 10 },
        (_, i) => rec(i, { x: 0.5 + i, k: 3 }, 0.01 * (9 - i), "pruned", 1),
      ),
      rec(10, { x: 1, k: 3 }, 30, "pruned", 3),
      rec(11, { x: 1.2, k: 3 }, 31, "pruned", 3),
    ];
    const near1 = Array.from(
      { length: 40 },
      (_, i) =>
        tpe({ multivariate, n: 99, seed: i, startupTrials: 5 }).sample(space, 12, {
          history: deep,
          direction: "minimize",
        })
          .x as number,
    );
    assert(Math.abs(median(near1) - 1) < 1, `median ${median(near1)}`);
    // failed trials do not count: below the start-up count it is random search
    const failed = history.map((r) => ({ ...r, status: "failed" as const, objective: null }));
    assertEquals(
      tpe({ multivariate, n: 99, seed: 1 }).sample(space, 20, {
        history: failed,
        direction: "minimize",
      }),
      random({ n: 99, seed: 1 }).sample(space, 20, { history: [], direction: "minimize" }),
    );
  });
}

Deno.test("tpe() validates its options", () => {
  assertThrows(() => tpe({ n: 0 }), RangeError, "'n' must be an integer >= 1");
  assertThrows(() => tpe({ n: 5, candidates: 0 }), RangeError, "'candidates'");
  assertThrows(() => tpe({ n: 5, priorWeight: 0 }), RangeError, "'priorWeight' must be > 0");
});

Deno.test("a TPE sweep is reproducible from its seed, and learns from the trials in its storage", async () => {
  const run = (seed: number, storage?: string) =>
    sweep({
      space: { x: uniform(-5, 5), act: choice(["a", "b"]) },
      sampler: tpe({ n: 16, seed, startupTrials: 5 }),
      trial: ({ x, act }) => x * x + (act === "a" ? 0 : 1),
      ...(storage ? { storage } : {}),
    });
  const params = (r: Awaited<ReturnType<typeof run>>) =>
    r.trials.slice().sort((a, b) => a.index - b.index).map((t) => t.params);
  const a = await run(2);
  assertEquals(params(await run(2)), params(a));
  assertNotEquals(params(await run(3)), params(a));
  // resumed half-way from a journal: the same trials as in one go
  const dir = await Deno.makeTempDir();
  const path = `${dir}/j.jsonl`;
  const first = await sweep({
    space: { x: uniform(-5, 5), act: choice(["a", "b"]) },
    sampler: tpe({ n: 8, seed: 2, startupTrials: 5 }),
    trial: ({ x, act }) => x * x + (act === "a" ? 0 : 1),
    storage: path,
  });
  assertEquals(first.ran, 8);
  const resumed = await run(2, path);
  assertEquals([resumed.ran, resumed.resumed], [8, 8]);
  assertEquals(params(resumed), params(a));
  await Deno.remove(dir, { recursive: true });
});
