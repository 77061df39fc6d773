/**
 * The journal file as a sweep storage: one JSONL file that several processes on one
 * machine share safely. Every change is a line appended under an exclusive file lock:
 * `claim` (a worker takes a trial), `epoch` (a report), `beat` (a heartbeat) and the
 * trial records themselves (one per ended attempt, as `readJournal` returns them).
 * Each process replays the lines it has not read yet before it claims, reports or
 * finishes, so all of them see every trial's reports and prune against all of them.
 *
 * A running trial whose worker is gone — its process no longer exists on this machine,
 * or it sent no heartbeat for `graceSeconds` — is marked failed and run again. A last
 * line cut short by a crash is set aside in `<path>.torn` with a warning, and the trial
 * it belonged to runs again. Across machines, give each its own journal and a `shard`.
 *
 * @module
 */
import { withFileLock } from "./_file_lock.ts";
import type {
  ClaimedTrial,
  ClaimOutcome,
  ClaimRequest,
  StudyInfo,
  SweepStorage,
  TrialRef,
  WorkerInfo,
} from "./storage.ts";
import type { TrialRecord, TrialReports } from "./types.ts";

/** Options of {@linkcode journalStorage}. */
export interface JournalStorageOptions {
  /** Seconds between a running trial's heartbeats. @default {10} */
  readonly heartbeatSeconds?: number;
  /** Seconds without a heartbeat after which a running trial is failed and re-run. @default {60} */
  readonly graceSeconds?: number;
}

interface Slot {
  attempt: number;
  params: Readonly<Record<string, unknown>>;
  running: boolean;
  worker: string;
  host: string;
  pid: number;
  token: string;
  beatAt: number;
  record: TrialRecord | undefined;
  endedAt: number;
  requeue: boolean;
}

type Line =
  | { type: "study"; monitor: string; direction: string; sampler: string }
  | {
    type: "claim";
    index: number;
    attempt: number;
    params: Record<string, unknown>;
    worker: string;
    host: string;
    pid: number;
    token: string;
    at: number;
  }
  | {
    type: "epoch";
    index: number;
    attempt: number;
    epoch: number;
    value: number | null;
    metrics: Record<string, number | null>;
  }
  | { type: "beat"; trials: [number, number][]; at: number }
  | (TrialRecord & { type?: undefined; at?: number; requeue?: boolean });

const finite = (v: number | null | undefined): number =>
  typeof v === "number" && Number.isFinite(v) ? v : NaN;

/** JSON with non-finite numbers as null (the journal's convention). */
function lineOf(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v),
  );
}

/** Whether process `pid` still runs on this machine; true when that cannot be told. */
function processAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch (e) {
    return !(e instanceof Deno.errors.NotFound);
  }
}

function checkSeconds(name: string, value: number): void {
  if (!(Number.isFinite(value) && value > 0)) {
    throw new RangeError(
      `Cannot create the journal storage as '${name}' must be a positive number of seconds: current value is ${value}`,
    );
  }
}

/**
 * A sweep storage in a JSONL journal file, shared safely by the sweeps of several
 * processes on one machine (an exclusive file lock around every change).
 *
 * @param path The journal (created if missing).
 * @param options Heartbeat period and grace.
 * @returns The storage, for `sweep({ storage })`.
 * @throws {RangeError} If a period is not a positive number.
 *
 * @example Two sweeps in turn on one journal: the second finds the first's trials
 * ```ts
 * import { choice, grid, journalStorage, sweep } from "@fitloop/fitloop/sweep";
 * import { assertEquals } from "@std/assert";
 * const path = await Deno.makeTempFile({ suffix: ".jsonl" });
 * const options = { space: { x: choice([1, 2, 3]) }, sampler: grid(), trial: ({ x }: { x: number }) => x };
 * const first = await sweep({ ...options, storage: journalStorage(path) });
 * const second = await sweep({ ...options, storage: journalStorage(path) });
 * assertEquals([first.ran, second.ran, second.resumed], [3, 0, 3]);
 * await Deno.remove(path);
 * ```
 */
export function journalStorage(
  path: string | URL,
  options: JournalStorageOptions = {},
): SweepStorage {
  const { heartbeatSeconds = 10, graceSeconds = 60 } = options;
  checkSeconds("heartbeatSeconds", heartbeatSeconds);
  checkSeconds("graceSeconds", graceSeconds);
  const file = path instanceof URL ? decodeURIComponent(path.pathname) : path;
  const slots = new Map<number, Slot>();
  const reports = new Map<number, { attempt: number; values: number[] }>();
  let study: Extract<Line, { type: "study" }> | undefined;
  let monitor = "validLoss";
  let offset = 0;
  let lineNo = 0;
  let me: WorkerInfo | undefined;

  const setReport = (index: number, attempt: number, epoch: number, value: number) => {
    let r = reports.get(index);
    if (!r || r.attempt !== attempt) reports.set(index, r = { attempt, values: [] });
    r.values[epoch] = value;
  };

  const apply = (line: Line): void => {
    if (line.type === "study") {
      study ??= line;
    } else if (line.type === "claim") {
      slots.set(line.index, {
        attempt: line.attempt,
        params: line.params,
        running: true,
        worker: line.worker,
        host: line.host,
        pid: line.pid,
        token: line.token,
        beatAt: line.at,
        record: undefined,
        endedAt: 0,
        requeue: false,
      });
      reports.delete(line.index);
    } else if (line.type === "epoch") {
      if (slots.get(line.index)?.attempt === line.attempt) {
        setReport(line.index, line.attempt, line.epoch, finite(line.value));
      }
    } else if (line.type === "beat") {
      for (const [index, attempt] of line.trials) {
        const slot = slots.get(index);
        if (slot?.attempt === attempt) slot.beatAt = Math.max(slot.beatAt, line.at);
      }
    } else if ("status" in line) {
      const attempt = line.attempt ?? 1;
      const slot = slots.get(line.index);
      if (slot && slot.attempt > attempt) return;
      const { at, requeue, type: _t, ...record } = line;
      slots.set(line.index, {
        attempt,
        params: record.params,
        running: false,
        worker: record.worker ?? slot?.worker ?? "",
        host: slot?.host ?? "",
        pid: slot?.pid ?? 0,
        token: slot?.attempt === attempt ? slot.token : "",
        beatAt: slot?.beatAt ?? 0,
        record: { ...record, attempt },
        endedAt: at ?? 0,
        requeue: requeue === true,
      });
      const r = reports.get(line.index);
      if (!r || r.attempt !== attempt) {
        // a journal without epoch lines: the record's epochs are its reports
        reports.delete(line.index);
        record.epochs.forEach((e, epoch) =>
          setReport(line.index, attempt, epoch, finite(e[monitor]))
        );
      }
    }
  };

  /** Reads the lines appended since the last read; under the lock, sets a torn tail aside. */
  const refresh = async (locked: boolean): Promise<void> => {
    let bytes: Uint8Array;
    try {
      const f = await Deno.open(file, { read: true });
      try {
        await f.seek(offset, Deno.SeekMode.Start);
        const chunks: Uint8Array[] = [];
        const buf = new Uint8Array(1 << 16);
        for (;;) {
          const n = await f.read(buf);
          if (n === null) break;
          chunks.push(buf.slice(0, n));
        }
        bytes = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
        let at = 0;
        for (const c of chunks) {
          bytes.set(c, at);
          at += c.length;
        }
      } finally {
        f.close();
      }
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      throw e;
    }
    const end = bytes.lastIndexOf(10) + 1;
    const text = new TextDecoder().decode(bytes.subarray(0, end));
    for (const raw of text.split("\n")) {
      if (raw === "") continue;
      lineNo++;
      if (raw.trim() === "") continue;
      let line: Line;
      try {
        line = JSON.parse(raw) as Line;
      } catch (e) {
        throw new SyntaxError(`Cannot read journal '${file}': line ${lineNo} is not JSON`, {
          cause: e,
        });
      }
      apply(line);
    }
    offset += end;
    if (locked && end < bytes.length) {
      const torn = bytes.subarray(end);
      await Deno.writeFile(`${file}.torn`, new Uint8Array([...torn, 10]), { append: true });
      await Deno.truncate(file, offset);
      console.warn(
        `fitloop: journal '${file}' ended in a line cut short (a crash while writing it); ` +
          `set it aside in '${file}.torn': the trial it belonged to runs again`,
      );
    }
  };

  const append = async (lines: readonly unknown[]): Promise<void> => {
    const text = lines.map((l) => `${lineOf(l)}\n`).join("");
    const data = new TextEncoder().encode(text);
    await Deno.writeFile(file, data, { append: true, create: true });
    offset += data.length;
    for (const l of lines) {
      lineNo++;
      apply(JSON.parse(lineOf(l)) as Line);
    }
  };

  const locked = <T>(fn: () => Promise<T>): Promise<T> =>
    withFileLock(file, async () => {
      await refresh(true);
      return await fn();
    });

  const ended = (): TrialRecord[] =>
    [...slots.entries()].filter(([, s]) => !s.running && s.record).sort((a, b) => a[0] - b[0])
      .map(([, s]) => s.record!);

  const holds = (ref: TrialRef): Slot | undefined => {
    const slot = slots.get(ref.index);
    return slot && slot.running && slot.attempt === ref.attempt && slot.token === ref.token
      ? slot
      : undefined;
  };

  return {
    location: file,
    heartbeatSeconds,
    open(info: StudyInfo, worker: WorkerInfo): Promise<number> {
      me = worker;
      monitor = info.monitor;
      return locked(async () => {
        if (study && (study.monitor !== info.monitor || study.direction !== info.direction)) {
          throw new RangeError(
            `Cannot sweep on journal '${file}' as it holds a study of '${study.monitor}' (${study.direction}): this sweep has monitor '${info.monitor}' (${info.direction}); use another journal`,
          );
        }
        if (!study) await append([{ type: "study", ...info }]);
        return Date.now();
      });
    },
    claim(request: ClaimRequest): Promise<ClaimOutcome> {
      const { worker, size, shard, rerunFailedBefore, token, propose } = request;
      const mine = (i: number) => i < size && (!shard || i % shard.count === shard.index);
      return locked(async () => {
        const now = Date.now();
        const reaped: unknown[] = [];
        for (const [index, s] of slots) {
          if (!s.running || s.worker === worker.id) continue;
          const gone = s.host === worker.host && s.pid !== worker.pid && !processAlive(s.pid);
          const silent = now - s.beatAt > graceSeconds * 1000;
          if (!gone && !silent) continue;
          reaped.push({
            key: JSON.stringify(s.params),
            index,
            params: s.params,
            status: "failed",
            objective: null,
            epochs: [],
            seconds: (now - s.beatAt) / 1000,
            error: gone
              ? `its worker ${s.worker} ended without finishing it (process ${s.pid} is gone)`
              : `its worker ${s.worker} sent no heartbeat for ${graceSeconds} s`,
            attempt: s.attempt,
            worker: s.worker,
            at: now,
            requeue: true,
          });
        }
        if (reaped.length) await append(reaped);
        let pick:
          | { index: number; attempt: number; params: Readonly<Record<string, unknown>> }
          | undefined;
        for (const [index, s] of slots) {
          if (s.running || !mine(index) || s.record?.status !== "failed") continue;
          const rerun = s.requeue ||
            (rerunFailedBefore !== undefined && s.endedAt < rerunFailedBefore);
          if (rerun && (!pick || index < pick.index)) {
            pick = { index, attempt: s.attempt + 1, params: s.params };
          }
        }
        let fresh = 0;
        while (fresh < size && (slots.has(fresh) || !mine(fresh))) fresh++;
        if (fresh < size && (!pick || fresh < pick.index)) {
          pick = { index: fresh, attempt: 1, params: propose(fresh, ended()) };
        }
        if (pick) {
          const claim = {
            type: "claim",
            ...pick,
            worker: worker.id,
            host: worker.host,
            pid: worker.pid,
            token,
            at: now,
          };
          await append([claim]);
          const trial: ClaimedTrial = { ...pick, token };
          return { kind: "trial", trial };
        }
        for (const [index, s] of slots) {
          if (s.running && mine(index) && s.worker !== worker.id) return { kind: "wait" };
        }
        return { kind: "done" };
      });
    },
    report(ref, epoch, metrics, value): Promise<TrialReports> {
      return locked(async () => {
        if (!holds(ref)) {
          throw new Error(
            `Cannot record epoch ${epoch} of trial ${ref.index}: its attempt ${ref.attempt} is no longer this worker's (it was given up and run again)`,
          );
        }
        await append([
          { type: "epoch", index: ref.index, attempt: ref.attempt, epoch, value, metrics },
        ]);
        const out = new Map<number, number[]>();
        for (const [index, r] of reports) {
          const s = slots.get(index);
          if (s && s.attempt === r.attempt && s.record?.status !== "failed") {
            out.set(index, r.values.slice());
          }
        }
        return out;
      });
    },
    heartbeat(trials): Promise<void> {
      if (trials.length === 0) return Promise.resolve();
      return locked(async () => {
        const alive = trials.filter((t) => holds(t)).map((t) => [t.index, t.attempt]);
        if (alive.length) await append([{ type: "beat", trials: alive, at: Date.now() }]);
      });
    },
    finish(ref, record): Promise<boolean> {
      return locked(async () => {
        if (!holds(ref)) return false;
        await append([{ ...record, attempt: ref.attempt, worker: me?.id, at: Date.now() }]);
        return true;
      });
    },
    trials(): Promise<TrialRecord[]> {
      return locked(() => Promise.resolve(ended()));
    },
    close(): Promise<void> {
      return Promise.resolve();
    },
  };
}
