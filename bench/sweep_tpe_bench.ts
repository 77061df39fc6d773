// Does TPE learn? On Branin (2-D) and Hartmann-6 (6-D), 20 seeds each: the median over
// seeds of the best value TPE finds in 50 trials against random search's in 100 (both
// through sweep(), in-process, the same search space). A benchmark, not a timed test:
//   deno run -A bench/sweep_tpe_bench.ts [--seeds 20]
import { random, sweep, tpe, uniform } from "../sweep/mod.ts";

const seeds = Number(Deno.args[Deno.args.indexOf("--seeds") + 1] ?? 20) || 20;

/** Branin-Hoo on [-5, 10] x [0, 15]; minimum 0.397887 at three points. */
function branin(x1: number, x2: number): number {
  const b = 5.1 / (4 * Math.PI ** 2);
  const c = 5 / Math.PI;
  const t = 1 / (8 * Math.PI);
  return (x2 - b * x1 * x1 + c * x1 - 6) ** 2 + 10 * (1 - t) * Math.cos(x1) + 10;
}

const A = [
  [10, 3, 17, 3.5, 1.7, 8],
  [0.05, 10, 17, 0.1, 8, 14],
  [3, 3.5, 1.7, 10, 17, 8],
  [17, 8, 0.05, 10, 0.1, 14],
];
const P = [
  [1312, 1696, 5569, 124, 8283, 5886],
  [2329, 4135, 8307, 3736, 1004, 9991],
  [2348, 1451, 3522, 2883, 3047, 6650],
  [4047, 8828, 8732, 5743, 1091, 381],
];
const ALPHA = [1, 1.2, 3, 3.2];
/** Hartmann-6 on [0, 1]^6; minimum -3.32237. */
function hartmann6(x: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < 4; i++) {
    let inner = 0;
    for (let j = 0; j < 6; j++) inner += A[i]![j]! * (x[j]! - P[i]![j]! * 1e-4) ** 2;
    s += ALPHA[i]! * Math.exp(-inner);
  }
  return -s;
}

const problems = [
  {
    name: "Branin",
    optimum: 0.397887,
    space: { x1: uniform(-5, 10), x2: uniform(0, 15) },
    f: (p: Record<string, unknown>) => branin(p.x1 as number, p.x2 as number),
  },
  {
    name: "Hartmann-6",
    optimum: -3.32237,
    space: Object.fromEntries([0, 1, 2, 3, 4, 5].map((j) => [`x${j}`, uniform(0, 1)])),
    f: (p: Record<string, unknown>) =>
      hartmann6([0, 1, 2, 3, 4, 5].map((j) => p[`x${j}`] as number)),
  },
];

const median = (xs: number[]) => {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

console.log(
  `| objective | optimum | TPE (independent, multivariate: false), 50 trials | TPE (multivariate, the default), 50 trials | random, 100 trials | independent / multivariate better than random on | seconds |`,
);
console.log(`| --- | --- | --- | --- | --- | --- | --- |`);
for (const prob of problems) {
  const t0 = performance.now();
  const best = { tpe: [] as number[], multi: [] as number[], random: [] as number[] };
  for (let seed = 0; seed < seeds; seed++) {
    for (
      const [kind, sampler] of [
        ["tpe", tpe({ n: 50, seed, multivariate: false })],
        ["multi", tpe({ n: 50, seed, multivariate: true })],
        ["random", random({ n: 100, seed })],
      ] as const
    ) {
      const r = await sweep({
        space: prob.space,
        sampler,
        direction: "minimize",
        trial: (p) => prob.f(p as Record<string, unknown>),
      });
      best[kind].push(r.best!.objective!);
    }
  }
  const wins = (xs: number[]) => xs.filter((v, i) => v < best.random[i]!).length;
  console.log(
    `| ${prob.name} | ${prob.optimum} | ${median(best.tpe).toFixed(4)} | ${
      median(best.multi).toFixed(4)
    } | ${median(best.random).toFixed(4)} | ${wins(best.tpe)} / ${
      wins(best.multi)
    } of ${seeds} seeds | ${((performance.now() - t0) / 1000).toFixed(1)} |`,
  );
}
