// One worker process of bench/sweep_throughput_bench.ts:
//   deno run -A bench/sweep_pg_worker.ts URL STUDY N cnn|sleep
// cnn: the MNIST CNN trial of examples/sweep.ts (1 epoch on 1,000 digits, in a Worker);
// sleep: an in-process trial of 3 epochs of 300 ms that uses no CPU.
import { dryRun } from "../core/dry_run.ts";
import { choice, logUniform, postgresStorage, random, sweep } from "../sweep/mod.ts";

const [url, study, n, kind] = Deno.args as [string, string, string, string];
const storage = postgresStorage(url, { study });
const sampler = random({ n: Number(n), seed: 0 });
const space = {
  lr: logUniform(1e-3, 3e-2),
  wd: choice([0, 1e-4]),
  filters: 8,
  epochs: 1,
  samples: 1000,
};
const result = kind === "cnn"
  ? await sweep({
    space,
    sampler,
    storage,
    monitor: "accuracy",
    trial: { module: new URL("../examples/sweep_trial.ts", import.meta.url) },
  })
  : await sweep({
    space,
    sampler,
    storage,
    trial: async (_p, ctx) => {
      const slow = {
        name: "slow",
        onEpochBegin: () => new Promise<void>((r) => setTimeout(r, 300)),
      };
      const run = await dryRun([slow, ...ctx.callbacks], { epochs: 3, batchesPerEpoch: 1 });
      return run.state.lastMetrics[0]!;
    },
  });
console.log(JSON.stringify({ ran: result.ran }));
