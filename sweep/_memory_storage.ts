// The storage of a sweep given none: its trials live in this process only.
import type { ClaimOutcome, ClaimRequest, SweepStorage, TrialRef } from "./storage.ts";
import type { TrialRecord, TrialReports } from "./types.ts";

interface Slot {
  readonly ref: TrialRef;
  readonly params: Readonly<Record<string, unknown>>;
  record: TrialRecord | undefined;
  reports: number[];
}

/** A storage in memory, for one sweep call. */
export function memoryStorage(): SweepStorage {
  const slots = new Map<number, Slot>();
  const holds = (ref: TrialRef) => {
    const s = slots.get(ref.index);
    return s && !s.record && s.ref.token === ref.token ? s : undefined;
  };
  const ended = () =>
    [...slots.values()].filter((s) => s.record).map((s) => s.record!).sort((a, b) =>
      a.index - b.index
    );
  return {
    location: "memory",
    heartbeatSeconds: 3600,
    open: () => Promise.resolve(Date.now()),
    claim(request: ClaimRequest): Promise<ClaimOutcome> {
      const { size, shard, token, propose } = request;
      for (let index = 0; index < size; index++) {
        if (slots.has(index) || (shard && index % shard.count !== shard.index)) continue;
        const params = propose(index, ended());
        const ref = { index, attempt: 1, token };
        slots.set(index, { ref, params, record: undefined, reports: [] });
        return Promise.resolve({ kind: "trial", trial: { ...ref, params } });
      }
      return Promise.resolve({ kind: "done" });
    },
    report(ref, epoch, _metrics, value): Promise<TrialReports> {
      const slot = holds(ref);
      if (!slot) return Promise.reject(new Error(`Cannot record trial ${ref.index}: not running`));
      slot.reports[epoch] = value;
      const out = new Map<number, number[]>();
      for (const [i, s] of slots) {
        if (s.record?.status !== "failed" && s.reports.length) out.set(i, s.reports.slice());
      }
      return Promise.resolve(out);
    },
    heartbeat: () => Promise.resolve(),
    finish(ref, record): Promise<boolean> {
      const slot = holds(ref);
      if (slot) slot.record = { ...record, attempt: 1 };
      return Promise.resolve(slot !== undefined);
    },
    trials: () => Promise.resolve(ended()),
    close: () => Promise.resolve(),
  };
}
