// The PostgreSQL storage against a real server: FITLOOP_TEST_POSTGRES_URL names it (`bash
// .ci/postgres.sh` starts a throw-away one). Without it these tests are skipped with one
// line, unless FITLOOP_REQUIRE_POSTGRES=1 (as in CI), which makes the skip a failure.
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { postgresStorage } from "../../sweep/postgres_storage.ts";
import { uniform } from "../../sweep/search_space.ts";
import { sweep } from "../../sweep/sweep.ts";
import { tpe } from "../../sweep/tpe_sampler.ts";
import { dryRun } from "../../core/dry_run.ts";
import { prunedThanksToOthers, type Report, startWorker } from "./_shared.ts";

const URL_ = Deno.env.get("FITLOOP_TEST_POSTGRES_URL");
const REQUIRED = Deno.env.get("FITLOOP_REQUIRE_POSTGRES") === "1";

type Query = (s: TemplateStringsArray, ...v: unknown[]) => Promise<Record<string, unknown>[]>;
type Sql = Query & {
  begin<T>(fn: (tx: Query) => Promise<T>): Promise<T>;
  end(o?: { timeout?: number }): Promise<void>;
};

async function admin(): Promise<Sql> {
  const { default: connect } = await import("postgres") as unknown as {
    default: (url: string, o: Record<string, unknown>) => Sql;
  };
  return connect(URL_!, { max: 1, onnotice: () => {} });
}

const study = (name: string) => `${name}-${crypto.randomUUID().slice(0, 8)}`;

async function dropStudy(sql: Sql, name: string): Promise<void> {
  await sql`DELETE FROM fitloop_reports WHERE study = ${name}`;
  await sql`DELETE FROM fitloop_attempts WHERE study = ${name}`;
  await sql`DELETE FROM fitloop_studies WHERE name = ${name}`;
}

if (!URL_) {
  if (REQUIRED) {
    Deno.test("PostgreSQL storage tests", () => {
      throw new Error(
        "FITLOOP_REQUIRE_POSTGRES=1 but FITLOOP_TEST_POSTGRES_URL is not set: the PostgreSQL tests cannot be skipped here",
      );
    });
  } else {
    console.log(
      "skipping the PostgreSQL storage tests: set FITLOOP_TEST_POSTGRES_URL (bash .ci/postgres.sh starts a server)",
    );
    Deno.test({ name: "PostgreSQL storage tests (skipped: no server)", ignore: true, fn() {} });
  }
} else {
  Deno.test("PostgreSQL: 3 workers, one killed -9 mid-trial: every trial ends once, pruning across workers", async () => {
    const name = study("three");
    const sql = await admin();
    const n = 15;
    const workers = [0, 1, 2].map(() => startWorker([URL_, String(n), "150", name]));
    const victim = workers[0]!;
    // wait until the victim runs a trial that has reported an epoch, then kill it
    let killedTrial: number | undefined;
    const deadline = Date.now() + 30_000;
    while (killedTrial === undefined && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      const rows = await sql`SELECT t.idx FROM fitloop_trials t
        JOIN fitloop_reports r ON r.study = t.study AND r.idx = t.idx AND r.attempt = t.attempt
        WHERE t.study = ${name} AND t.status = 'running' AND t.worker LIKE ${`%:${victim.pid}:%`}
        LIMIT 1`.catch(() => []);
      killedTrial = rows[0]?.idx as number | undefined;
    }
    assert(killedTrial !== undefined, "the victim never ran a trial");
    victim.kill("SIGKILL");
    // the survivors must finish (the killed trial re-run after the grace) within 45 s
    const guard = setTimeout(() => {
      for (const w of workers.slice(1)) w.kill("SIGKILL");
    }, 45_000);
    const outs = await Promise.all(workers.map((w) => w.output()));
    clearTimeout(guard);
    const decode = (b: Uint8Array) => new TextDecoder().decode(b);
    assertEquals(outs[0]!.success, false);
    for (const o of outs.slice(1)) assert(o.success, decode(o.stderr));

    const trials = await sql`SELECT idx, attempt, status, worker FROM fitloop_trials
      WHERE study = ${name} ORDER BY idx`;
    assertEquals(trials.map((t) => t.idx), [...Array(n).keys()]);
    assert(
      trials.every((t) => t.status === "finished" || t.status === "pruned"),
      JSON.stringify(trials),
    );
    const attempts = await sql`SELECT idx, attempt, status, worker, error FROM fitloop_attempts
      WHERE study = ${name} ORDER BY idx, attempt`;
    for (let i = 0; i < n; i++) {
      const ended = attempts.filter((a) => a.idx === i && a.status !== "failed");
      assertEquals(
        ended.length,
        1,
        `trial ${i}: ${JSON.stringify(attempts.filter((a) => a.idx === i))}`,
      );
    }
    const killed = attempts.filter((a) => a.idx === killedTrial);
    assertEquals(killed.map((a) => [a.attempt, a.status === "failed"]), [[1, true], [2, false]]);
    assertStringIncludes(killed[0]!.error as string, "sent no heartbeat for 2 s");
    assert(!(killed[1]!.worker as string).includes(`:${victim.pid}:`));

    const reports: Report[] = (await sql`SELECT idx, attempt, epoch, value, worker
      FROM fitloop_reports WHERE study = ${name} ORDER BY at, idx`).map((r) => ({
      index: r.idx as number,
      attempt: r.attempt as number,
      epoch: r.epoch as number,
      value: r.value as number,
      worker: r.worker as string,
    }));
    const pruned = (await sql`SELECT idx, attempt, record FROM fitloop_trials
      WHERE study = ${name} AND status = 'pruned'`).map((r) => ({
      index: r.idx as number,
      attempt: r.attempt as number,
      epoch: (r.record as { epochs: unknown[] }).epochs.length - 1,
    }));
    assert(pruned.length > 0, "nothing was pruned");
    assert(prunedThanksToOthers(reports, pruned).length > 0, JSON.stringify(pruned));

    // the study resumes from the database alone: a new worker finds nothing left to run
    const again = startWorker([URL_, String(n), "150", name]);
    const out = await again.output();
    assert(out.success, decode(out.stderr));
    assertEquals(JSON.parse(decode(out.stdout).trim()), { ran: 0, resumed: n, trials: n });
    await dropStudy(sql, name);
    await sql.end();
  });

  Deno.test("PostgreSQL: a connection lost mid-trial is retried; no trial is lost or doubled", async () => {
    const name = study("lost");
    const sql = await admin();
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (...a: unknown[]) => void warnings.push(a.join(" "));
    let cutting: Promise<number> | undefined;
    try {
      const result = await sweep({
        space: { x: uniform(0, 1) },
        sampler: tpe({ n: 6, seed: 1, startupTrials: 3 }),
        storage: postgresStorage(URL_, { study: name, heartbeatSeconds: 0.2, graceSeconds: 5 }),
        trial: async ({ x }, ctx) => {
          const cutter = {
            name: "cutter",
            async onEpochEnd(s: { epoch: number }) {
              if (cutting || s.epoch !== 1) return;
              // Lock the reports table, so that this epoch's report (the sweep's callback
              // runs next) waits on the server; then cut that connection from the server's
              // side while its query is in flight, and let go of the lock.
              let locked!: () => void;
              const isLocked = new Promise<void>((r) => (locked = r));
              cutting = sql.begin(async (tx) => {
                await tx`LOCK TABLE fitloop_reports IN ACCESS EXCLUSIVE MODE`;
                locked();
                for (let i = 0; i < 250; i++) {
                  const cut = await tx`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                    WHERE application_name = 'fitloop' AND wait_event_type = 'Lock'`;
                  if (cut.length) return cut.length;
                  await new Promise((r) => setTimeout(r, 20));
                }
                return 0;
              });
              await isLocked;
            },
          };
          const run = await dryRun([cutter, ...ctx.callbacks], {
            epochs: 3,
            batchesPerEpoch: 1,
            validLosses: (e) => x + 1 / (1 + e),
          });
          return run.state.lastMetrics[0]!;
        },
      });
      assertEquals(await cutting, 1);
      assertEquals(result.ran, 6);
      assertEquals(result.trials.map((t) => t.status), Array(6).fill("finished"));
    } finally {
      console.warn = warn;
    }
    assert(warnings.some((w) => w.includes("retrying in")), warnings.join("\n"));
    const attempts = await sql`SELECT idx, count(*)::int AS n FROM fitloop_attempts
      WHERE study = ${name} GROUP BY idx ORDER BY idx`;
    assertEquals(attempts.map((a) => [a.idx, a.n]), [...Array(6).keys()].map((i) => [i, 1]));
    const reports = await sql`SELECT count(*)::int AS n FROM fitloop_reports WHERE study = ${name}`;
    assertEquals(reports[0]!.n, 18);
    await dropStudy(sql, name);
    await sql.end();
  });

  Deno.test("PostgreSQL: a retried claim finds its trial; a given-up attempt cannot report or finish", async () => {
    const name = study("claims");
    const sql = await admin();
    const storage = postgresStorage(URL_, {
      study: name,
      heartbeatSeconds: 0.1,
      graceSeconds: 0.3,
    });
    const a = { id: "host-a:1:a", host: "host-a", pid: 1 };
    const b = { id: "host-b:2:b", host: "host-b", pid: 2 };
    await storage.open({ monitor: "validLoss", direction: "minimize", sampler: "test" }, a);
    const propose = (i: number) => ({ x: i });
    const first = await storage.claim({ worker: a, size: 2, token: "t1", propose });
    const retried = await storage.claim({ worker: a, size: 2, token: "t1", propose });
    assertEquals(first, retried);
    assert(first.kind === "trial");
    await storage.report(first.trial, 0, { validLoss: 1 }, 1);
    // a stops beating: after the grace, b's claim takes trial 0 over as attempt 2
    await new Promise((r) => setTimeout(r, 600));
    const taken = await storage.claim({ worker: b, size: 2, token: "t2", propose });
    assert(taken.kind === "trial");
    assertEquals([taken.trial.index, taken.trial.attempt], [0, 2]);
    let refused = "";
    await storage.report(first.trial, 1, { validLoss: 1 }, 1).catch((e) => (refused = e.message));
    assertStringIncludes(refused, "no longer this worker's");
    const record = {
      key: "{}",
      index: 0,
      params: { x: 0 },
      status: "finished" as const,
      objective: 1,
      epochs: [],
      seconds: 0,
    };
    assertEquals(await storage.finish(first.trial, record), false);
    assertEquals(await storage.finish(taken.trial, record), true);
    assertEquals(await storage.finish(taken.trial, record), true); // a retry after a lost answer
    assertEquals((await storage.trials()).map((t) => t.index), [0]);
    await storage.close();
    await dropStudy(sql, name);
    await sql.end();
  });
}
