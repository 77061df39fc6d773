/**
 * The sweep journal: append-only JSONL, one line per finished, pruned or failed trial.
 * A sweep reads it first and skips the trials already there, so a killed sweep resumes
 * where it stopped; journals written by shards on several machines merge into one.
 *
 * @module
 */

/** How a trial ended. */
export type TrialStatus = "finished" | "pruned" | "failed";

/** One trial as the journal keeps it. */
export interface TrialRecord {
  /** Identity of the trial: its canonical parameters (see {@linkcode trialKey}). */
  readonly key: string;
  /** Position in the sweep's plan. */
  readonly index: number;
  /** The parameters. */
  readonly params: Readonly<Record<string, unknown>>;
  /** How it ended. */
  readonly status: TrialStatus;
  /** The objective (the last reported value for a pruned trial); null if failed. */
  readonly objective: number | null;
  /** Validation loss and metrics at the end of each epoch, by name. */
  readonly epochs: readonly Readonly<Record<string, number | null>>[];
  /** Wall time in seconds. */
  readonly seconds: number;
  /** Why it failed. */
  readonly error?: string;
}

function _canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(_canonical);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value).sort().map((k) => [k, _canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/**
 * A trial's identity: its parameters as JSON with sorted keys, plus `#n` for the n-th
 * repeat of the same parameters in one plan.
 *
 * @param params The parameters.
 * @param repeat Earlier trials of the plan with the same parameters. @default {0}
 * @returns The key.
 *
 * @example Key order does not matter
 * ```ts
 * import { trialKey } from "@fitloop/fitloop/sweep";
 * import { assertEquals } from "@std/assert";
 * assertEquals(trialKey({ b: 1, a: 2 }), trialKey({ a: 2, b: 1 }));
 * ```
 */
export function trialKey(params: Readonly<Record<string, unknown>>, repeat = 0): string {
  const json = JSON.stringify(_canonical(params));
  return repeat === 0 ? json : `${json}#${repeat}`;
}

/**
 * Reads a journal; a missing file is an empty journal, and a last line cut short by a
 * crash is ignored.
 *
 * @param path The JSONL file.
 * @returns The records, in file order.
 * @throws {SyntaxError} If a line other than the last is not JSON.
 *
 * @example
 * ```ts
 * import { readJournal } from "@fitloop/fitloop/sweep";
 * import { assertEquals } from "@std/assert";
 * assertEquals(await readJournal("/nonexistent/journal.jsonl"), []);
 * ```
 */
export async function readJournal(path: string | URL): Promise<TrialRecord[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const out: TrialRecord[] = [];
  lines.forEach((line, i) => {
    try {
      out.push(JSON.parse(line) as TrialRecord);
    } catch (e) {
      if (i !== lines.length - 1 || text.endsWith("\n")) {
        throw new SyntaxError(`Cannot read journal '${path}': line ${i + 1} is not JSON`, {
          cause: e,
        });
      }
    }
  });
  return out;
}

/**
 * Appends one record as one line (one write call, so lines from concurrent trials do not
 * interleave).
 *
 * @param path The JSONL file (created if missing).
 * @param record The record.
 * @returns When the line is written.
 *
 * @example
 * ```ts
 * import { appendJournal, readJournal } from "@fitloop/fitloop/sweep";
 * import { assertEquals } from "@std/assert";
 * const path = await Deno.makeTempFile({ suffix: ".jsonl" });
 * const record = { key: "{}", index: 0, params: {}, status: "finished" as const, objective: 1, epochs: [], seconds: 0 };
 * await appendJournal(path, record);
 * assertEquals(await readJournal(path), [record]);
 * await Deno.remove(path);
 * ```
 */
export async function appendJournal(path: string | URL, record: TrialRecord): Promise<void> {
  const clean = JSON.stringify(
    record,
    (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v),
  );
  await Deno.writeTextFile(path, `${clean}\n`, { append: true, create: true });
}

const RANK: Record<TrialStatus, number> = { finished: 2, pruned: 1, failed: 0 };

/**
 * Merges journals (say, one per shard): one record per trial key, a finished or pruned
 * record winning over a failed one; optionally written to `output`.
 *
 * @param paths The journals.
 * @param output Where to write the merged journal. @default {undefined}
 * @returns The merged records, by plan index.
 *
 * @example
 * ```ts
 * import { appendJournal, mergeJournals } from "@fitloop/fitloop/sweep";
 * import { assertEquals } from "@std/assert";
 * const a = await Deno.makeTempFile();
 * const b = await Deno.makeTempFile();
 * const base = { params: {}, objective: 1, epochs: [], seconds: 0 };
 * await appendJournal(a, { ...base, key: "x", index: 0, status: "failed", objective: null });
 * await appendJournal(b, { ...base, key: "x", index: 0, status: "finished" });
 * await appendJournal(b, { ...base, key: "y", index: 1, status: "finished" });
 * const merged = await mergeJournals([a, b]);
 * assertEquals(merged.map((r) => r.status), ["finished", "finished"]);
 * await Deno.remove(a);
 * await Deno.remove(b);
 * ```
 */
export async function mergeJournals(
  paths: readonly (string | URL)[],
  output?: string | URL,
): Promise<TrialRecord[]> {
  const byKey = new Map<string, TrialRecord>();
  for (const path of paths) {
    for (const r of await readJournal(path)) {
      const seen = byKey.get(r.key);
      if (!seen || RANK[r.status] > RANK[seen.status]) byKey.set(r.key, r);
    }
  }
  const merged = [...byKey.values()].sort((a, b) => a.index - b.index);
  if (output !== undefined) {
    await Deno.writeTextFile(
      output,
      merged.map((r) => JSON.stringify(r)).join("\n") + (merged.length ? "\n" : ""),
    );
  }
  return merged;
}
