// Does pruning pay? The MNIST CNN sweep of examples/sweep.ts, 27 trials x 9 epochs (random
// sampler, seed 0: the same 27 parameter sets both times; every trial seeds its model and
// its shuffling, so a trial trains the same way in both runs), run once without pruning and
// once with ASHA (minEpochs 1, reductionFactor 3: rungs after epochs 1, 3 and 9). Prints the
// trial-epochs each run trained, the saving, the best accuracy of each and the wall time.
//   deno run -A bench/sweep_asha_bench.ts [--samples 2000] [--concurrency 2]
import { parseArgs } from "node:util";
import { ashaPruner, choice, logUniform, random, sweep, type SweepResult } from "../sweep/mod.ts";

const flags = parseArgs({
  args: Deno.args,
  options: {
    samples: { type: "string", default: "2000" },
    concurrency: { type: "string", default: "2" },
    trials: { type: "string", default: "27" },
    epochs: { type: "string", default: "9" },
  },
}).values;
const samples = Number(flags.samples);
const epochs = Number(flags.epochs);
const n = Number(flags.trials);

async function run(pruned: boolean): Promise<{ result: SweepResult; seconds: number }> {
  const t0 = performance.now();
  const result = await sweep({
    space: {
      lr: logUniform(1e-3, 3e-2),
      wd: choice([0, 1e-4, 1e-2]),
      filters: choice([8, 16]),
      epochs,
      samples,
    },
    sampler: random({ n, seed: 0 }),
    trial: { module: new URL("../examples/sweep_trial.ts", import.meta.url) },
    concurrency: Number(flags.concurrency),
    monitor: "accuracy",
    ...(pruned ? { pruner: ashaPruner({ minEpochs: 1, reductionFactor: 3 }) } : {}),
    onTrial: (t) =>
      console.error(
        `${
          pruned ? "asha" : "full"
        } trial ${t.index}: ${t.status} after ${t.epochs.length} epochs, ` +
          `accuracy ${t.objective?.toFixed(4)}${t.error ? ` (${t.error})` : ""}`,
      ),
  });
  return { result, seconds: (performance.now() - t0) / 1000 };
}

const full = await run(false);
const asha = await run(true);
const epochsOf = (r: SweepResult) => r.trials.reduce((s, t) => s + t.epochs.length, 0);
const fe = epochsOf(full.result);
const ae = epochsOf(asha.result);
const fb = full.result.best!.objective!;
const ab = asha.result.best!.objective!;
// the same trial, trained the same way: finished trials of both runs must agree
const byIndex = new Map(full.result.trials.map((t) => [t.index, t]));
let maxDiff = 0;
for (const t of asha.result.trials) {
  if (t.status === "finished") {
    maxDiff = Math.max(maxDiff, Math.abs(t.objective! - byIndex.get(t.index)!.objective!));
  }
}
console.log(
  `| run | trial-epochs trained | finished / pruned / failed | best accuracy (trial) | wall time |`,
);
console.log(`| --- | --- | --- | --- | --- |`);
for (const [name, r, e] of [["no pruning", full, fe], ["ASHA (1, 3)", asha, ae]] as const) {
  const c = (s: string) => r.result.trials.filter((t) => t.status === s).length;
  console.log(
    `| ${name} | ${e} | ${c("finished")} / ${c("pruned")} / ${c("failed")} | ${
      r.result.best!.objective!.toFixed(4)
    } (${r.result.best!.index}) | ${r.seconds.toFixed(1)} s |`,
  );
}
console.log(
  `\nsaved ${(100 * (1 - ae / fe)).toFixed(1)} % of trial-epochs; best accuracy ${
    ab.toFixed(4)
  } vs ${fb.toFixed(4)} (${
    (100 * (ab - fb) / fb).toFixed(2)
  } % relative); finished trials of both runs differ by at most ${maxDiff.toFixed(6)}`,
);
