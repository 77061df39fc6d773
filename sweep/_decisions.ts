// The pruners' decisions, as pure functions of every trial's reports: shared by the
// sweep executor, its Workers and child processes through `shouldPrune`.
import type { AshaPruner } from "./asha_pruner.ts";
import type { MedianPruner } from "./median_pruner.ts";
import type { TrialReports } from "./types.ts";

/** Whether the end of 0-based `epoch` is one of ASHA's rungs. */
function isRung(p: AshaPruner, epoch: number): boolean {
  for (let r = p.minEpochs; r <= epoch + 1; r *= p.reductionFactor) {
    if (r === epoch + 1) return true;
  }
  return false;
}

/** The ASHA pruner's decision for trial `self` at `epoch`. */
export function ashaDecision(
  p: AshaPruner,
  reports: TrialReports,
  self: number,
  epoch: number,
  minimize: boolean,
): boolean {
  if (!isRung(p, epoch)) return false;
  const value = reports.get(self)?.[epoch];
  if (value === undefined) return false;
  if (Number.isNaN(value)) return true;
  const competing: number[] = [];
  for (const values of reports.values()) {
    const v = values[epoch];
    if (v !== undefined && v !== null && !Number.isNaN(v)) competing.push(v);
  }
  competing.sort((a, b) => (minimize ? a - b : b - a));
  const keep = Math.max(1, Math.floor(competing.length / p.reductionFactor));
  const threshold = competing[keep - 1]!;
  return minimize ? value > threshold : value < threshold;
}

/** The median pruner's decision for trial `self` at `epoch`. */
export function medianDecision(
  p: MedianPruner,
  reports: TrialReports,
  self: number,
  epoch: number,
  minimize: boolean,
): boolean {
  if (epoch < p.warmupEpochs) return false;
  const value = reports.get(self)?.[epoch];
  if (value === undefined || Number.isNaN(value)) return value !== undefined;
  const others: number[] = [];
  for (const [id, values] of reports) {
    const v = values[epoch];
    if (id !== self && v !== undefined && v !== null && !Number.isNaN(v)) others.push(v);
  }
  if (others.length < Math.max(1, p.minTrials)) return false;
  others.sort((a, b) => a - b);
  const mid = others.length >> 1;
  const median = others.length % 2 ? others[mid]! : (others[mid - 1]! + others[mid]!) / 2;
  return minimize ? value > median : value < median;
}
