import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { dryRun } from "../../core/dry_run.ts";
import { ashaPruner } from "../../sweep/asha_pruner.ts";
import { medianPruner } from "../../sweep/median_pruner.ts";
import { mergeJournals, readJournal } from "../../sweep/journal.ts";
import { choice, grid, random, uniform } from "../../sweep/search_space.ts";
import { parseShard, sweep } from "../../sweep/sweep.ts";
import { plotSweep, sweepTable, sweepToCsv } from "../../sweep/sweep_report.ts";

const losses = (start: number, decay: number, n: number) =>
  Array.from({ length: n }, (_, i) => start * decay ** i);

Deno.test("an in-process sweep ranks trials by objective; a failing trial does not stop it", async () => {
  const seen: number[] = [];
  const result = await sweep({
    space: { x: choice([3, 1, 4, 1.5, 9]) },
    sampler: grid(),
    concurrency: 2,
    trial: async ({ x }, ctx) => {
      if (x === 4) throw new Error("trial 2 breaks");
      const run = await dryRun(ctx.callbacks, {
        epochs: 2,
        batchesPerEpoch: 1,
        validLosses: [x + 1, x],
      });
      seen.push(x);
      return run.state.lastMetrics[0]!;
    },
  });
  assertEquals(result.trials.map((t) => t.params.x), [1, 1.5, 3, 9, 4]);
  assertEquals(result.trials.map((t) => t.status), [
    "finished",
    "finished",
    "finished",
    "finished",
    "failed",
  ]);
  assertStringIncludes(result.trials[4]!.error!, "trial 2 breaks");
  assertEquals(result.best?.objective, 1);
  assertEquals(result.trials[0]!.epochs, [{ validLoss: 2 }, { validLoss: 1 }]);
  assertEquals(seen.length, 4);
  const table = sweepTable(result).text.split("\n");
  assertEquals(table[0]!.split(/\s+/), [
    "rank",
    "trial",
    "status",
    "objective",
    "x",
    "epochsRun",
    "seconds",
    "error",
  ]);
  assertEquals(table.length, 6);
  assert(table[5]!.endsWith("Error: trial 2 breaks"), table[5]);
  const csv = sweepToCsv(result).trim().split("\n");
  assertEquals(sweepToCsv(result.trials), sweepToCsv(result));
  assertEquals(csv[1]!.split(",").slice(0, 4), ["1", "finished", "1", "1"]);
  assertEquals(csv[5]!.split(","), [
    "2",
    "failed",
    "",
    "4",
    csv[5]!.split(",")[4],
    "0",
    "Error: trial 2 breaks",
  ]);
  assertStringIncludes(plotSweep(result).svg, "objective vs x");
});

Deno.test("the median pruner stops a trial clearly worse than the others at the same epoch", async () => {
  const curves: Record<string, number[]> = {
    good1: losses(1, 0.8, 6),
    good2: losses(1.1, 0.8, 6),
    good3: losses(0.9, 0.8, 6),
    bad: losses(3, 0.99, 6),
  };
  const result = await sweep({
    space: { name: choice(["good1", "good2", "good3", "bad"]) },
    sampler: grid(),
    pruner: medianPruner({ warmupEpochs: 2, minTrials: 2 }),
    trial: async ({ name }, ctx) => {
      const run = await dryRun(ctx.callbacks, {
        epochs: 6,
        batchesPerEpoch: 1,
        validLosses: curves[name]!,
      });
      return run.state.lastMetrics[0]!;
    },
  });
  const bad = result.trials.find((t) => t.params.name === "bad")!;
  assertEquals(bad.status, "pruned");
  assertEquals(bad.epochs.length, 3); // stopped at the end of epoch 2, after the warm-up
  assert(
    result.trials.filter((t) => t.params.name !== "bad").every((t) => t.status === "finished"),
  );
});

Deno.test("the ASHA pruner keeps the top 1/rf at each rung and stops the rest", async () => {
  const starts = [1, 1.2, 1.4, 3, 5, 7];
  const result = await sweep({
    space: { start: choice(starts) },
    sampler: grid(),
    pruner: ashaPruner({ minEpochs: 1, reductionFactor: 2 }),
    trial: async ({ start }, ctx) => {
      const run = await dryRun(ctx.callbacks, {
        epochs: 4,
        batchesPerEpoch: 1,
        validLosses: losses(start, 0.9, 4),
      });
      return run.state.lastMetrics[0]!;
    },
  });
  const byStart = new Map(result.trials.map((t) => [t.params.start, t]));
  // sequential trials: at rung 1 (epoch 0) trial k competes with the k earlier ones
  assertEquals(byStart.get(1)!.status, "finished");
  for (const s of [3, 5, 7]) assertEquals(byStart.get(s)!.status, "pruned", `start ${s}`);
  assertEquals(byStart.get(7)!.epochs.length, 1);
});

Deno.test("shards split a plan so that every trial runs on exactly one of them", async () => {
  assertEquals(parseShard("2/3"), { index: 2, count: 3 });
  const dir = await Deno.makeTempDir();
  const space = { a: uniform(0, 1), b: choice([1, 2, 3]) };
  const strategy = random({ n: 17, seed: 5 });
  const journals: string[] = [];
  const indices: number[] = [];
  for (let k = 0; k < 3; k++) {
    const journal = `${dir}/shard-${k}.jsonl`;
    journals.push(journal);
    const r = await sweep({
      space,
      sampler: strategy,
      shard: `${k}/3`,
      storage: journal,
      trial: ({ a, b }) => a * b,
    });
    indices.push(...r.trials.map((t) => t.index));
  }
  assertEquals(indices.slice().sort((x, y) => x - y), Array.from({ length: 17 }, (_, i) => i));
  const merged = await mergeJournals(journals, `${dir}/all.jsonl`);
  assertEquals(merged.map((r) => r.index), Array.from({ length: 17 }, (_, i) => i));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("trials in Workers: a crash or a throw marks the trial failed and the sweep goes on", async () => {
  const result = await sweep({
    space: { mode: choice(["curve", "crash", "fit", "throw"]), loss: 2 },
    sampler: grid(),
    concurrency: 2,
    monitor: "validLoss",
    trial: { module: new URL("../fixtures/sweep_trial.ts", import.meta.url) },
  });
  const byMode = new Map(result.trials.map((t) => [t.params.mode, t]));
  assertEquals(byMode.get("curve")!.status, "finished");
  assertEquals(byMode.get("curve")!.objective, 2 * 0.8);
  assertEquals(byMode.get("crash")!.status, "failed");
  assertStringIncludes(byMode.get("crash")!.error!, "boom in the worker");
  assertEquals(byMode.get("throw")!.status, "failed");
  assertStringIncludes(byMode.get("throw")!.error!, "RangeError: this trial fails");
  const fitted = byMode.get("fit")!;
  assertEquals(fitted.status, "finished");
  assertEquals(fitted.epochs.length, 2);
  // the seeded model starts at 6 % and reaches 98.4 %; the objective is the last accuracy
  assert(fitted.objective! >= 0.9, `accuracy ${fitted.objective}`);
  assertEquals(fitted.objective, fitted.epochs[1]!.accuracy);
});

Deno.test("trials in child processes: even running out of memory only fails that trial", async () => {
  const result = await sweep({
    space: { mode: choice(["curve", "oom", "throw", "print"]), loss: 3 },
    sampler: grid(),
    concurrency: 2,
    isolation: "process",
    processFlags: ["--v8-flags=--max-old-space-size=150"],
    trial: { module: new URL("../fixtures/sweep_trial.ts", import.meta.url) },
  });
  const byMode = new Map(result.trials.map((t) => [t.params.mode, t]));
  assertEquals(byMode.get("curve")!.status, "finished");
  assertEquals(byMode.get("curve")!.objective, 3 * 0.8);
  assertEquals(byMode.get("curve")!.epochs.length, 3);
  assertEquals(byMode.get("print")!.status, "finished");
  assertEquals(byMode.get("oom")!.status, "failed");
  assertStringIncludes(byMode.get("oom")!.error!, "ended with");
  assertStringIncludes(byMode.get("oom")!.error!, "out of memory");
  assertStringIncludes(byMode.get("throw")!.error!, "RangeError: this trial fails");
});

Deno.test("a killed sweep resumes from its journal and no trial is journaled twice", async () => {
  const dir = await Deno.makeTempDir();
  const journal = `${dir}/j.jsonl`;
  const runs = `${dir}/runs.log`;
  const command = () =>
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--import-map=tests/import_map.json",
        "tests/fixtures/sweep_script.ts",
        journal,
        runs,
      ],
      stdout: "piped",
      stderr: "null",
    });
  const first = command().spawn();
  const deadline = Date.now() + 30_000;
  while ((await readJournal(journal)).length < 3 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  first.kill("SIGKILL");
  await first.output();
  const afterKill = (await readJournal(journal)).length;
  assert(afterKill >= 3 && afterKill < 8, `journaled before the kill: ${afterKill}`);
  const second = await command().output();
  assertEquals(
    new TextDecoder().decode(second.stdout).trim(),
    `ran ${8 - afterKill}, resumed ${afterKill}`,
  );
  const records = await readJournal(journal);
  // every trial finished exactly once; the one cut off by the kill (if any) has a failed
  // first attempt ("process … is gone") and started twice
  const finished = records.filter((r) => r.status === "finished");
  assertEquals(finished.map((r) => r.index).sort(), [0, 1, 2, 3, 4, 5, 6, 7]);
  const cut = records.filter((r) => r.status === "failed");
  assert(cut.length <= 1, JSON.stringify(cut));
  for (const r of cut) assertStringIncludes(r.error!, "is gone");
  const starts = (await Deno.readTextFile(runs)).trim().split("\n");
  assertEquals(starts.length, 8 + cut.length, starts.join(" | "));
  await Deno.remove(dir, { recursive: true });
});

const TRIAL_MODULE = new URL("../fixtures/sweep_trial.ts", import.meta.url);

Deno.test("a NaN objective, returned or reached by a pruned trial, is a failure", async () => {
  const result = await sweep({
    space: { mode: choice(["number", "nan", "pruned-nan"]) },
    sampler: grid(),
    pruner: medianPruner({ warmupEpochs: 0, minTrials: 1 }),
    abortAfterFailures: 0,
    trial: async ({ mode }, ctx) => {
      if (mode === "nan") return NaN;
      const run = await dryRun(ctx.callbacks, {
        epochs: 2,
        batchesPerEpoch: 1,
        validLosses: mode === "number" ? [1, 0.5] : [NaN, NaN],
      });
      return run.state.lastMetrics[0]!;
    },
  });
  const by = new Map(result.trials.map((t) => [t.params.mode, t]));
  assertEquals(by.get("number")!.status, "finished");
  assertEquals(by.get("nan")!.status, "failed");
  assertStringIncludes(by.get("nan")!.error!, "must be a finite number: current value is NaN");
  assertEquals(by.get("pruned-nan")!.status, "failed");
  assertStringIncludes(by.get("pruned-nan")!.error!, "NaN");
  assertEquals(result.best?.params.mode, "number");
});

Deno.test("failed trials run again on the next run of the same sweep; finished ones are kept", async () => {
  const dir = await Deno.makeTempDir();
  const storage = `${dir}/j.jsonl`;
  let broken = true;
  const calls: number[] = [];
  const options = {
    space: { x: choice([1, 2, 3, 4]) },
    sampler: grid(),
    storage,
    abortAfterFailures: 0,
    trial: ({ x }: { x: number }) => {
      calls.push(x);
      if (broken && x % 2 === 0) throw new RangeError(`even ${x}`);
      return x;
    },
  };
  const first = await sweep(options);
  assertEquals(first.trials.map((t) => t.status), ["finished", "finished", "failed", "failed"]);
  // rerunFailed: false keeps the failures as they are
  const kept = await sweep({ ...options, rerunFailed: false });
  assertEquals([kept.ran, kept.resumed], [0, 4]);
  broken = false;
  const second = await sweep(options);
  assertEquals(calls, [1, 2, 3, 4, 2, 4]);
  assertEquals([second.ran, second.resumed], [2, 2]);
  assertEquals(second.trials.map((t) => [t.index, t.status, t.attempt]), [
    [0, "finished", 1],
    [1, "finished", 2],
    [2, "finished", 1],
    [3, "finished", 2],
  ]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the first trials all failing with one error stop the sweep with that error", async () => {
  let calls = 0;
  const err = await assertRejects(
    () =>
      sweep({
        space: { x: uniform(0, 1) },
        sampler: random({ n: 20 }),
        trial: () => {
          calls++;
          throw new TypeError("model is not defined");
        },
      }),
    Error,
    "first 3 trials all failed with: TypeError: model is not defined",
  );
  assert(!(err instanceof TypeError));
  assertEquals(calls, 3);
  // different errors: the sweep goes on
  let n = 0;
  const mixed = await sweep({
    space: { x: uniform(0, 1) },
    sampler: random({ n: 5 }),
    trial: () => {
      if (n++ < 3) throw new Error(`error ${n}`);
      return 1;
    },
  });
  assertEquals(mixed.ran, 5);
});

Deno.test("a trial module without the expected export is one clear TypeError", async () => {
  const dir = await Deno.makeTempDir();
  const err = await assertRejects(
    () =>
      sweep({
        space: { x: choice([1, 2, 3, 4]) },
        sampler: grid(),
        concurrency: 2,
        storage: `${dir}/j.jsonl`,
        trial: { module: new URL("../fixtures/sweep_wrong_export.ts", import.meta.url) },
      }),
    TypeError,
    "exports no function 'trial': it exports 'default'",
  );
  assertStringIncludes(err.message, "export");
  // it stopped at the first trial of each lane, and those are failures to re-run later
  const records = await readJournal(`${dir}/j.jsonl`);
  assert(records.length <= 2, `${records.length}`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("sweep() refuses unknown options, naming the close one", async () => {
  await assertRejects(
    // @ts-expect-error: the old name of `sampler`
    () => sweep({ space: {}, strategy: grid(), trial: () => 1 }),
    TypeError,
    "option 'strategy' is unknown: did you mean 'sampler'?",
  );
  await assertRejects(
    // @ts-expect-error: a typo
    () => sweep({ space: {}, sampler: grid(), trial: () => 1, concurency: 2 }),
    TypeError,
    "did you mean 'concurrency'?",
  );
});

Deno.test("a child-process trial dies with its sweep, even when the sweep is killed -9", async () => {
  const dir = await Deno.makeTempDir();
  const pidFile = `${dir}/trial.pid`;
  const script = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--import-map=tests/import_map.json",
      "tests/fixtures/sweep_orphan_script.ts",
      pidFile,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  let pid = 0;
  const deadline = Date.now() + 30_000;
  while (!pid && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    pid = Number(await Deno.readTextFile(pidFile).catch(() => "0"));
  }
  assert(pid > 0, "the trial never started");
  const alive = () => {
    try {
      const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
      return !/\) [ZX] /.test(stat);
    } catch {
      return false;
    }
  };
  assert(alive());
  script.kill("SIGKILL");
  await script.status;
  const until = Date.now() + 5000;
  while (alive() && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  assertEquals(alive(), false, `trial process ${pid} outlived its sweep`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("trials in Workers print no WebGL stack traces when tfjs picks a backend", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--import-map=tests/import_map.json",
      "tests/fixtures/sweep_worker_script.ts",
    ],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(stdout.trim(), "finished 1, finished 1", stderr);
  assertEquals(/WebGL/i.test(stdout + stderr), false, stderr);
});

void TRIAL_MODULE;
