/**
 * A sweep storage in PostgreSQL: any number of processes on any number of machines run
 * one study by pointing at one database. The client is the npm package `postgres`
 * (porsager/postgres: pure JavaScript, no native code, no dependencies, runs on Deno), loaded
 * with a dynamic import the first time a storage connects, so importing fitloop never
 * downloads it.
 *
 * Tables (created if missing): `fitloop_studies`, `fitloop_trials` (one row per trial: its
 * current attempt, parameters, status, record, claim token and heartbeat),
 * `fitloop_reports` (one row per attempt and epoch) and `fitloop_attempts` (one row per
 * ended attempt, an audit log). A claim runs in one transaction under a per-study advisory
 * lock: it fails the running trials whose worker sent no heartbeat for `graceSeconds`,
 * then takes the lowest trial to run (a failed one to re-run, or a new one whose
 * parameters the sampler proposes from the ended trials). Every operation is retried with
 * backoff when the connection is lost; a claim carries a token so a retried claim finds
 * the trial it took, and only the holder of a trial's current attempt can finish it, so
 * no trial is lost or ends twice.
 *
 * @module
 */
import { withRetry } from "./_retry.ts";
import type {
  ClaimOutcome,
  ClaimRequest,
  StudyInfo,
  SweepStorage,
  TrialRef,
  WorkerInfo,
} from "./storage.ts";
import type { TrialRecord, TrialReports } from "./types.ts";

/** Options of {@linkcode postgresStorage}. */
export interface PostgresStorageOptions {
  /** The study's name: workers with the same URL and study share trials. @default {"default"} */
  readonly study?: string;
  /** Seconds between a running trial's heartbeats. @default {10} */
  readonly heartbeatSeconds?: number;
  /** Seconds without a heartbeat after which a running trial is failed and run again. @default {60} */
  readonly graceSeconds?: number;
  /** Seconds to keep retrying an operation while the database is unreachable. @default {120} */
  readonly retrySeconds?: number;
  /** Connections this process opens at most. @default {4} */
  readonly maxConnections?: number;
}

// The part of the `postgres` client used here (its own types stay out of fitloop's graph).
type Row = Record<string, unknown>;
interface Sql {
  (strings: TemplateStringsArray, ...values: unknown[]): Promise<Row[]>;
  (values: readonly unknown[]): unknown;
  json(value: unknown): unknown;
  unsafe(query: string): Promise<Row[]>;
}
interface Client extends Sql {
  begin<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  end(options?: { timeout?: number }): Promise<void>;
}
type Connect = (url: string, options: Record<string, unknown>) => Client;

/**
 * The client, by a specifier held in a variable: Deno fetches the target of a literal
 * dynamic import when it loads the module graph, and this one must be fetched only by
 * those who connect. (Keep the version in step with deno.json's "postgres".)
 */
const POSTGRES_CLIENT: string = "npm:postgres@^3.4.9";

/** The URL without its password, for messages. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.href;
  } catch {
    return "postgres://…";
  }
}

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS fitloop_studies (
    name text PRIMARY KEY,
    monitor text NOT NULL,
    direction text NOT NULL,
    sampler text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp())`,
  `CREATE TABLE IF NOT EXISTS fitloop_trials (
    study text NOT NULL REFERENCES fitloop_studies (name) ON DELETE CASCADE,
    idx integer NOT NULL,
    attempt integer NOT NULL,
    status text NOT NULL,
    params jsonb NOT NULL,
    record jsonb,
    token text NOT NULL,
    worker text NOT NULL,
    started_at timestamptz NOT NULL,
    heartbeat_at timestamptz NOT NULL,
    ended_at timestamptz,
    requeue boolean NOT NULL DEFAULT false,
    PRIMARY KEY (study, idx))`,
  `CREATE TABLE IF NOT EXISTS fitloop_reports (
    study text NOT NULL,
    idx integer NOT NULL,
    attempt integer NOT NULL,
    epoch integer NOT NULL,
    value double precision,
    metrics jsonb NOT NULL,
    worker text NOT NULL,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (study, idx, attempt, epoch))`,
  `CREATE TABLE IF NOT EXISTS fitloop_attempts (
    study text NOT NULL,
    idx integer NOT NULL,
    attempt integer NOT NULL,
    status text NOT NULL,
    worker text NOT NULL,
    error text,
    ended_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (study, idx, attempt))`,
];

function checkSeconds(name: string, value: number): void {
  if (!(Number.isFinite(value) && value > 0)) {
    throw new RangeError(
      `Cannot create the PostgreSQL storage as '${name}' must be a positive number of seconds: current value is ${value}`,
    );
  }
}

const num = (v: unknown): number => (v === null || v === undefined ? NaN : Number(v));

/**
 * A sweep storage in a PostgreSQL database, shared by every worker that points at the same
 * URL and study: atomic claims, reports every epoch (pruning sees every worker's trials),
 * heartbeats, re-run of a dead worker's trial after `graceSeconds`, and retries with
 * backoff when the connection drops.
 *
 * @param url A `postgres://user:password@host:port/database` URL.
 * @param options Study name, heartbeat period, grace and retry time.
 * @returns The storage, for `sweep({ storage })`.
 * @throws {TypeError} If `url` is not a postgres:// or postgresql:// URL.
 * @throws {RangeError} If a period is not a positive number or the study name is empty.
 *
 * @example Needs a server: here only the storage's settings are checked
 * ```ts
 * import { postgresStorage } from "@fitloop/fitloop/sweep";
 * import { assertEquals } from "@std/assert";
 * const storage = postgresStorage("postgres://me:secret@db.example:5432/sweeps", { study: "cnn" });
 * assertEquals(storage.location, "postgres://me:***@db.example:5432/sweeps (study cnn)");
 * assertEquals(storage.heartbeatSeconds, 10);
 * ```
 */
export function postgresStorage(url: string, options: PostgresStorageOptions = {}): SweepStorage {
  if (typeof url !== "string" || !/^postgres(ql)?:\/\//.test(url)) {
    throw new TypeError(
      `Cannot create the PostgreSQL storage as 'url' must start with postgres://: current value is ${
        typeof url === "string" ? redact(url) : String(url)
      }`,
    );
  }
  const {
    study = "default",
    heartbeatSeconds = 10,
    graceSeconds = 60,
    retrySeconds = 120,
    maxConnections = 4,
  } = options;
  checkSeconds("heartbeatSeconds", heartbeatSeconds);
  checkSeconds("graceSeconds", graceSeconds);
  checkSeconds("retrySeconds", retrySeconds);
  if (typeof study !== "string" || study === "") {
    throw new RangeError(
      `Cannot create the PostgreSQL storage as 'study' must be a non-empty name: current value is ${
        JSON.stringify(study)
      }`,
    );
  }
  const location = `${redact(url)} (study ${study})`;
  const policy = { firstMs: 250, maxMs: 8000, totalMs: retrySeconds * 1000 };
  let client: Client | undefined;
  let me: WorkerInfo | undefined;

  const connect = async (): Promise<Client> => {
    if (client) return client;
    const mod = await import(POSTGRES_CLIENT) as { default: Connect };
    client ??= mod.default(url, {
      max: maxConnections,
      idle_timeout: 30,
      connect_timeout: 10,
      onnotice: () => {},
      connection: { application_name: "fitloop" },
    });
    return client;
  };
  const retry = <T>(what: string, fn: (sql: Client) => Promise<T>): Promise<T> =>
    withRetry(what, policy, async () => fn(await connect()), (e, ms) =>
      console.warn(
        `fitloop: ${what} on ${location} failed (${(e as Error)?.message ?? e}); retrying in ${
          (ms / 1000).toFixed(1)
        } s`,
      ));
  const lock = (tx: Sql) => tx`SELECT pg_advisory_xact_lock(hashtext(${`fitloop:${study}`}))`;
  const holds = (tx: Sql, ref: TrialRef) =>
    tx`UPDATE fitloop_trials SET heartbeat_at = clock_timestamp()
       WHERE study = ${study} AND idx = ${ref.index} AND attempt = ${ref.attempt}
         AND token = ${ref.token} AND status = 'running' RETURNING idx`;
  const ended = async (tx: Sql): Promise<TrialRecord[]> =>
    (await tx`SELECT record FROM fitloop_trials
              WHERE study = ${study} AND status <> 'running' ORDER BY idx`)
      .map((r) => r.record as TrialRecord);

  return {
    location,
    heartbeatSeconds,
    open(info: StudyInfo, worker: WorkerInfo): Promise<number> {
      me = worker;
      return retry("open the study", (sql) =>
        sql.begin(async (tx) => {
          await tx`SELECT pg_advisory_xact_lock(hashtext('fitloop:schema'))`;
          for (const statement of SCHEMA) await tx.unsafe(statement);
          await tx`INSERT INTO fitloop_studies (name, monitor, direction, sampler)
                   VALUES (${study}, ${info.monitor}, ${info.direction}, ${info.sampler})
                   ON CONFLICT (name) DO NOTHING`;
          const [row] = await tx`SELECT monitor, direction,
                                   extract(epoch FROM clock_timestamp()) * 1000 AS now
                                 FROM fitloop_studies WHERE name = ${study}`;
          if (row!.monitor !== info.monitor || row!.direction !== info.direction) {
            throw new RangeError(
              `Cannot sweep on ${location} as the study there has monitor '${row!.monitor}' (${
                row!.direction
              }): this sweep has '${info.monitor}' (${info.direction}); name another study`,
            );
          }
          return num(row!.now);
        }));
    },
    claim(request: ClaimRequest): Promise<ClaimOutcome> {
      const { worker, size, shard, rerunFailedBefore, token, propose } = request;
      const mine = (i: number) => i < size && (!shard || i % shard.count === shard.index);
      return retry("claim a trial", (sql) =>
        sql.begin(async (tx): Promise<ClaimOutcome> => {
          await lock(tx);
          const [own] = await tx`SELECT idx, attempt, params FROM fitloop_trials
                                 WHERE study = ${study} AND token = ${token}`;
          if (own) {
            // an earlier try of this claim committed before its answer was lost
            return {
              kind: "trial",
              trial: {
                index: own.idx as number,
                attempt: own.attempt as number,
                token,
                params: own.params as Record<string, unknown>,
              },
            };
          }
          const stale = await tx`SELECT idx, attempt, worker, params, token FROM fitloop_trials
            WHERE study = ${study} AND status = 'running' AND worker <> ${worker.id}
              AND heartbeat_at < clock_timestamp() - make_interval(secs => ${graceSeconds})`;
          for (const s of stale) {
            const error = `its worker ${s.worker} sent no heartbeat for ${graceSeconds} s`;
            const record: TrialRecord = {
              key: JSON.stringify(s.params),
              index: s.idx as number,
              params: s.params as Record<string, unknown>,
              status: "failed",
              objective: null,
              epochs: [],
              seconds: 0,
              error,
              attempt: s.attempt as number,
              worker: s.worker as string,
            };
            await tx`UPDATE fitloop_trials SET status = 'failed', requeue = true,
                       record = ${tx.json(record)}, ended_at = clock_timestamp(),
                       token = ${`reaped:${s.token}`}
                     WHERE study = ${study} AND idx = ${s.idx} AND attempt = ${s.attempt}`;
            await tx`INSERT INTO fitloop_attempts (study, idx, attempt, status, worker, error)
                     VALUES (${study}, ${s.idx}, ${s.attempt}, 'failed', ${s.worker}, ${error})
                     ON CONFLICT DO NOTHING`;
          }
          const rows = await tx`SELECT idx, attempt, status, params, worker, requeue,
              (ended_at IS NOT NULL AND extract(epoch FROM ended_at) * 1000 < ${
            rerunFailedBefore ?? -1
          }) AS before
            FROM fitloop_trials WHERE study = ${study} ORDER BY idx`;
          let pick: { index: number; attempt: number; params: Record<string, unknown> } | undefined;
          for (const r of rows) {
            const i = r.idx as number;
            if (r.status !== "failed" || !mine(i) || !(r.requeue || r.before)) continue;
            pick = {
              index: i,
              attempt: (r.attempt as number) + 1,
              params: r.params as Record<string, unknown>,
            };
            break;
          }
          const taken = new Set(rows.map((r) => r.idx as number));
          let fresh = 0;
          while (fresh < size && (taken.has(fresh) || !mine(fresh))) fresh++;
          if (fresh < size && (!pick || fresh < pick.index)) {
            pick = { index: fresh, attempt: 1, params: { ...propose(fresh, await ended(tx)) } };
          }
          if (pick) {
            await tx`INSERT INTO fitloop_trials
                       (study, idx, attempt, status, params, token, worker, started_at, heartbeat_at)
                     VALUES (${study}, ${pick.index}, ${pick.attempt}, 'running', ${
              tx.json(pick.params)
            },
                       ${token}, ${worker.id}, clock_timestamp(), clock_timestamp())
                     ON CONFLICT (study, idx) DO UPDATE SET attempt = excluded.attempt,
                       status = 'running', record = NULL, token = excluded.token,
                       worker = excluded.worker, started_at = excluded.started_at,
                       heartbeat_at = excluded.heartbeat_at, ended_at = NULL, requeue = false`;
            return { kind: "trial", trial: { ...pick, token } };
          }
          const others = rows.some((r) =>
            r.status === "running" && r.worker !== worker.id && mine(r.idx as number)
          );
          return { kind: others ? "wait" : "done" };
        }));
    },
    report(ref, epoch, metrics, value): Promise<TrialReports> {
      return retry("record an epoch", async (sql) => {
        const [held] = await holds(sql, ref);
        if (!held) {
          throw new Error(
            `Cannot record epoch ${epoch} of trial ${ref.index}: its attempt ${ref.attempt} is no longer this worker's (it was given up and run again)`,
          );
        }
        const clean = Object.fromEntries(
          Object.entries(metrics).map(([k, v]) => [k, Number.isFinite(v) ? v : null]),
        );
        await sql`INSERT INTO fitloop_reports (study, idx, attempt, epoch, value, metrics, worker)
                  VALUES (${study}, ${ref.index}, ${ref.attempt}, ${epoch},
                    ${Number.isFinite(value) ? value : null}, ${sql.json(clean)}, ${me?.id ?? ""})
                  ON CONFLICT DO NOTHING`;
        const rows = await sql`SELECT r.idx, r.epoch, r.value FROM fitloop_reports r
          JOIN fitloop_trials t ON t.study = r.study AND t.idx = r.idx AND t.attempt = r.attempt
          WHERE r.study = ${study} AND t.status <> 'failed'`;
        const out = new Map<number, number[]>();
        for (const r of rows) {
          const i = r.idx as number;
          const values = out.get(i) ?? [];
          values[r.epoch as number] = num(r.value);
          out.set(i, values);
        }
        return out;
      });
    },
    heartbeat(trials): Promise<void> {
      if (trials.length === 0) return Promise.resolve();
      const tokens = trials.map((t) => t.token);
      return retry("send a heartbeat", async (sql) => {
        await sql`UPDATE fitloop_trials SET heartbeat_at = clock_timestamp()
                  WHERE study = ${study} AND status = 'running' AND token IN ${sql(tokens)}`;
      });
    },
    finish(ref, record): Promise<boolean> {
      return retry("finish a trial", (sql) =>
        sql.begin(async (tx) => {
          const [row] = await tx`UPDATE fitloop_trials SET status = ${record.status},
              record = ${tx.json(record)}, ended_at = clock_timestamp(), requeue = false
            WHERE study = ${study} AND idx = ${ref.index} AND attempt = ${ref.attempt}
              AND token = ${ref.token} AND status = 'running' RETURNING idx`;
          if (!row) {
            // an earlier try that committed before its answer was lost left it ended
            const [done] = await tx`SELECT idx FROM fitloop_trials WHERE study = ${study}
              AND idx = ${ref.index} AND attempt = ${ref.attempt} AND token = ${ref.token}
              AND status <> 'running'`;
            return done !== undefined;
          }
          await tx`INSERT INTO fitloop_attempts (study, idx, attempt, status, worker, error)
                   VALUES (${study}, ${ref.index}, ${ref.attempt}, ${record.status},
                     ${record.worker ?? ""}, ${record.error ?? null})
                   ON CONFLICT DO NOTHING`;
          return true;
        }));
    },
    trials(): Promise<TrialRecord[]> {
      return retry("read the trials", (sql) => ended(sql));
    },
    async close(): Promise<void> {
      const c = client;
      client = undefined;
      await c?.end({ timeout: 5 });
    },
  };
}
