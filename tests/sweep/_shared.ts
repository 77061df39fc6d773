// Helpers of the shared-storage tests: start worker processes, and tell whether a pruning
// decision needed the reports of other workers' trials.
import { medianPruner } from "../../sweep/median_pruner.ts";
import { shouldPrune } from "../../sweep/pruner_callback.ts";

/** Starts `tests/fixtures/sweep_shared_script.ts` with `args`. */
export function startWorker(args: readonly string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--import-map=tests/import_map.json",
      "tests/fixtures/sweep_shared_script.ts",
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
}

/** One epoch report, in the order the storage recorded them. */
export interface Report {
  readonly index: number;
  readonly attempt: number;
  readonly epoch: number;
  readonly value: number;
  readonly worker: string;
}

/**
 * The pruned trials whose pruning the median rule of the fixture (warm-up 1, two other
 * trials) decides only with other workers' reports: with the reports recorded before the
 * pruning epoch's report (in storage order), the trial is pruned; with its own worker's
 * reports alone, it is not.
 */
export function prunedThanksToOthers(
  reports: readonly Report[],
  pruned: readonly { index: number; attempt: number; epoch: number }[],
): number[] {
  const pruner = medianPruner({ warmupEpochs: 1, minTrials: 2 });
  const out: number[] = [];
  for (const p of pruned) {
    const at = reports.findIndex((r) =>
      r.index === p.index && r.attempt === p.attempt && r.epoch === p.epoch
    );
    if (at < 0) continue;
    const worker = reports[at]!.worker;
    const upTo = reports.slice(0, at + 1);
    const view = (keep: (r: Report) => boolean) => {
      const latest = new Map<number, number>();
      for (const r of upTo) latest.set(r.index, Math.max(latest.get(r.index) ?? 0, r.attempt));
      const m = new Map<number, number[]>();
      for (const r of upTo) {
        if (!keep(r) || latest.get(r.index) !== r.attempt) continue;
        const v = m.get(r.index) ?? [];
        v[r.epoch] = r.value;
        m.set(r.index, v);
      }
      return m;
    };
    const all = shouldPrune(pruner, view(() => true), p.index, p.epoch, "minimize");
    const alone = shouldPrune(
      pruner,
      view((r) => r.worker === worker),
      p.index,
      p.epoch,
      "minimize",
    );
    if (all && !alone) out.push(p.index);
  }
  return out;
}
