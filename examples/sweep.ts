// `deno task sweep`: a sweep over learning rate, weight decay and the CNN's width on 2,000
// MNIST digits, two trials at a time in Workers, TPE sampling and median pruning, kept in a
// journal (re-run with the same --storage to resume; failed trials run again). Writes
// runs/sweep-<timestamp>/: trials.csv, objective.svg, parallel.svg, best.json.
//
//   deno run -A examples/sweep.ts [--trials 24] [--epochs 3] [--concurrency 2] [--seed 0]
//     [--sampler tpe|random] [--pruner median|asha|none] [--storage PATH|postgres://…]
//     [--study NAME] [--shard k/n] [--out DIR]
//
// Across machines: point every worker at one PostgreSQL database,
//   deno run -A examples/sweep.ts --storage postgres://user:pass@db:5432/sweeps --study cnn
// (each claims the next trial; a dead worker's trial runs again elsewhere), or give each a
// journal and a --shard k/n and merge the journals with mergeJournals().
import { parseArgs } from "node:util";
import {
  ashaPruner,
  bestTrialJson,
  choice,
  logUniform,
  medianPruner,
  plotParallelCoordinates,
  plotSweep,
  type Pruner,
  random,
  sweep,
  sweepTable,
  sweepToCsv,
  tpe,
} from "../sweep/mod.ts";

const USAGE = "usage: deno run -A examples/sweep.ts [--trials N] [--epochs N] [--concurrency N] " +
  "[--seed N] [--sampler tpe|random] [--pruner median|asha|none] [--storage PATH|postgres://…] " +
  "[--study NAME] [--shard k/n] [--out DIR]";

let flags;
try {
  flags = parseArgs({
    args: Deno.args,
    options: {
      trials: { type: "string", default: "24" },
      epochs: { type: "string", default: "3" },
      concurrency: { type: "string", default: "2" },
      seed: { type: "string", default: "0" },
      sampler: { type: "string", default: "tpe" },
      pruner: { type: "string", default: "median" },
      storage: { type: "string" },
      study: { type: "string", default: "mnist-cnn" },
      shard: { type: "string" },
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
const epochs = Number(flags.epochs);
const concurrency = Number(flags.concurrency);
const seed = Number(flags.seed);
if (
  ![trials, epochs, concurrency].every((n) => Number.isInteger(n) && n >= 1) ||
  !Number.isInteger(seed) || !["tpe", "random"].includes(flags.sampler) ||
  !["median", "asha", "none"].includes(flags.pruner)
) {
  console.error(
    `--trials, --epochs and --concurrency must be positive integers, --seed an integer, ` +
      `--sampler tpe or random, --pruner median, asha or none\n${USAGE}`,
  );
  Deno.exit(2);
}
const out = flags.out ?? `runs/sweep-${new Date().toISOString().replace(/[:.]/g, "-")}`;
await Deno.mkdir(out, { recursive: true });
const storage = flags.storage ?? `${out}/journal.jsonl`;
const pruner: Pruner | undefined = flags.pruner === "median"
  ? medianPruner({ warmupEpochs: 1 })
  : flags.pruner === "asha"
  ? ashaPruner({ minEpochs: 1, reductionFactor: 3 })
  : undefined;

const started = performance.now();
const result = await sweep({
  space: {
    lr: logUniform(1e-3, 3e-2),
    wd: choice([0, 1e-4, 1e-2]),
    filters: choice([8, 16]),
    epochs,
    samples: 2000,
  },
  sampler: flags.sampler === "tpe"
    ? tpe({ n: trials, seed, startupTrials: Math.min(10, Math.ceil(trials / 3)) })
    : random({ n: trials, seed }),
  trial: { module: new URL("./sweep_trial.ts", import.meta.url) },
  concurrency,
  ...(pruner ? { pruner } : {}),
  monitor: "accuracy",
  storage,
  study: flags.study,
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
await Deno.writeTextFile(`${out}/trials.csv`, sweepToCsv(result));
await Deno.writeTextFile(`${out}/objective.svg`, plotSweep(result).svg);
await Deno.writeTextFile(`${out}/parallel.svg`, plotParallelCoordinates(result).svg);
await Deno.writeTextFile(`${out}/best.json`, bestTrialJson(result) + "\n");
const where = String(storage).replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");
console.log(
  `best: ${JSON.stringify(result.best?.params)} accuracy ${result.best?.objective?.toFixed(4)}; ` +
    `${result.ran} trials run, ${result.resumed} resumed from ${where}, ` +
    `${((performance.now() - started) / 1000).toFixed(1)} s; files in ${out}/`,
);
