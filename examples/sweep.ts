// `deno task sweep`: a random search over learning rate, weight decay and the CNN's
// width on 2,000 MNIST digits, two trials at a time in Workers, with median pruning and a
// journal (re-run with the same --journal to resume). Writes runs/sweep-<timestamp>/.
//
//   deno run -A examples/sweep.ts [--trials 24] [--concurrency 2] [--seed 0]
//     [--shard k/n] [--journal PATH] [--out DIR]
//
// Across machines: run the same command with --shard 0/4 … 3/4 (say, as a Kubernetes
// indexed Job with --shard $JOB_COMPLETION_INDEX/4), then merge the journals with
// mergeJournals().
import { parseArgs } from "node:util";
import {
  choice,
  logUniform,
  medianPruner,
  plotSweep,
  random,
  sweep,
  sweepTable,
  sweepToCsv,
} from "../sweep/mod.ts";

const USAGE = "usage: deno run -A examples/sweep.ts [--trials N] [--concurrency N] [--seed N] " +
  "[--shard k/n] [--journal PATH] [--out DIR]";

let flags;
try {
  flags = parseArgs({
    args: Deno.args,
    options: {
      trials: { type: "string", default: "24" },
      concurrency: { type: "string", default: "2" },
      seed: { type: "string", default: "0" },
      shard: { type: "string" },
      journal: { type: "string" },
      out: { type: "string" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  }).values;
} catch (e) {
  console.error(`${e instanceof Error ? e.message : e}\n${USAGE}`);
  Deno.exit(2);
}
if (flags.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const trials = Number(flags.trials);
const concurrency = Number(flags.concurrency);
const seed = Number(flags.seed);
if (![trials, concurrency].every((n) => Number.isInteger(n) && n >= 1) || !Number.isInteger(seed)) {
  console.error(
    `--trials and --concurrency must be positive integers, --seed an integer\n${USAGE}`,
  );
  Deno.exit(2);
}
const out = flags.out ?? `runs/sweep-${new Date().toISOString().replace(/[:.]/g, "-")}`;
await Deno.mkdir(out, { recursive: true });
const journal = flags.journal ?? `${out}/journal.jsonl`;

const started = performance.now();
const result = await sweep({
  space: {
    lr: logUniform(1e-3, 3e-2),
    wd: choice([0, 1e-4, 1e-2]),
    filters: choice([8, 16]),
    epochs: 3,
    samples: 2000,
  },
  strategy: random({ n: trials, seed }),
  trial: { module: new URL("./sweep_trial.ts", import.meta.url) },
  concurrency,
  pruner: medianPruner({ warmupEpochs: 1 }),
  monitor: "accuracy",
  journal,
  ...(flags.shard ? { shard: flags.shard } : {}),
  onTrial: (t) =>
    console.log(
      `trial ${t.index}: ${t.status} ${
        t.objective === null ? "" : `accuracy ${t.objective.toFixed(4)} `
      }` +
        `(lr ${
          (t.params.lr as number).toExponential(2)
        }, wd ${t.params.wd}, filters ${t.params.filters}) ` +
        `${t.seconds.toFixed(1)} s${t.error ? ` — ${t.error}` : ""}`,
    ),
});
console.log(`\n${sweepTable(result)}\n`);
await Deno.writeTextFile(`${out}/trials.csv`, sweepToCsv(result.trials));
await Deno.writeTextFile(`${out}/objective.svg`, plotSweep(result).svg);
console.log(
  `best: ${JSON.stringify(result.best?.params)} accuracy ${result.best?.objective?.toFixed(4)}; ` +
    `${result.ran} trials run, ${result.resumed} resumed from ${journal}, ` +
    `${((performance.now() - started) / 1000).toFixed(1)} s; files in ${out}/`,
);
