/**
 * Reading the sweep journal: append-only JSONL with one line per ended trial attempt
 * (finished, pruned or failed), among the claim, epoch and heartbeat lines that
 * `journalStorage` writes. Journals written by shards on several machines merge into one.
 *
 * @module
 */

export type { TrialRecord, TrialStatus } from "./types.ts";
import type { TrialRecord, TrialStatus } from "./types.ts";

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
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
  const json = JSON.stringify(canonical(params));
  return repeat === 0 ? json : `${json}#${repeat}`;
}

/**
 * Reads the trial records of a journal (one per ended attempt; a re-run trial has several,
 * the last one counts); a missing file is an empty journal, and a last line cut short by a
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
      const parsed = JSON.parse(line) as TrialRecord & {
        type?: string;
        at?: number;
        requeue?: boolean;
      };
      if (parsed.type !== undefined || !("status" in parsed)) return;
      const { at: _at, requeue: _requeue, ...record } = parsed;
      out.push(record);
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
 * Merges journals (say, one per shard): one record per trial index, a finished or pruned
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
 * await appendJournal(a, { ...base, key: "{}", index: 0, status: "failed", objective: null });
 * await appendJournal(b, { ...base, key: "{}", index: 0, status: "finished" });
 * await appendJournal(b, { ...base, key: "{}", index: 1, status: "finished" });
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
  const byIndex = new Map<number, TrialRecord>();
  for (const path of paths) {
    for (const r of await readJournal(path)) {
      const seen = byIndex.get(r.index);
      if (!seen || RANK[r.status] >= RANK[seen.status]) byIndex.set(r.index, r);
    }
  }
  const merged = [...byIndex.values()].sort((a, b) => a.index - b.index);
  if (output !== undefined) {
    await Deno.writeTextFile(
      output,
      merged.map((r) => JSON.stringify(r)).join("\n") + (merged.length ? "\n" : ""),
    );
  }
  return merged;
}
