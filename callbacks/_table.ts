// The fastai epoch table (epoch, train_loss, valid_loss, metrics, time), shared by the
// CSV logger and the progress bar.
import type { TrainState } from "../core/state.ts";

/** Column names: validLoss is shown as valid_loss, as fastai does. */
export function _columns(s: TrainState): string[] {
  return [
    "epoch",
    "train_loss",
    ...s.metricNames.map((n) => (n === "validLoss" ? "valid_loss" : n)),
    "time",
  ];
}

/** A number as the table shows it (6 significant digits; NaN as #na#). */
export function _fmt(v: number): string {
  return Number.isNaN(v) ? "#na#" : Number(v.toPrecision(6)).toString();
}

/** Seconds as mm:ss (or h:mm:ss). */
export function _clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** The row values of an epoch: epoch, smoothed train loss, metrics. */
export function _row(s: TrainState): number[] {
  return [s.epoch, s.smoothLoss, ...s.lastMetrics];
}
