/**
 * Plots of a run, made without dependencies. Each returns an {@linkcode SvgPlot}: `.svg`
 * (or `String(plot)`) is the SVG markup to write to a file, and left as a notebook cell's
 * last value it displays as a picture in Deno's Jupyter kernel. Epochs are numbered from 0,
 * as in the epoch table.
 *
 * @module
 */
import type { Schedule } from "../schedules/schedule.ts";
import { simulate } from "../schedules/simulate.ts";
import { _figure, type _Marker, type _Panel, type SvgPlot } from "./_svg.ts";
import type { LrFindResult } from "./lr_finder.ts";
import type { History } from "../core/recorder.ts";

export type { SvgPlot } from "./_svg.ts";

const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => i + from);

function _epochEnds(history: History): number[] {
  let sum = 0;
  return history.nBatches.map((n) => (sum += n));
}

/**
 * Training loss per batch and validation loss per epoch (plotted at each epoch's last
 * batch), against batches processed.
 *
 * @param history A fit's history.
 * @returns The picture.
 *
 * @example
 * ```ts
 * import { plotLosses } from "@fitloop/fitloop/callbacks";
 * import { assertStringIncludes } from "@std/assert";
 * const svg = plotLosses({
 *   losses: [1, 0.8, 0.6, 0.5], lrs: [], moms: [], valLosses: [0.9, 0.55],
 *   metrics: [[], []], metricNames: [], nBatches: [2, 2],
 * }).svg;
 * assertStringIncludes(svg, "valid");
 * ```
 */
export function plotLosses(history: History): SvgPlot {
  return _figure([{
    title: "Losses",
    xLabel: "batches processed",
    yLabel: "loss",
    series: [
      { x: range(history.losses.length, 1), y: history.losses, label: "train" },
      {
        x: _epochEnds(history),
        y: history.valLosses,
        label: "valid",
        dots: history.valLosses.length < 2,
      },
    ],
  }]);
}

/** Options of {@linkcode plotLr}. */
export interface PlotLrOptions {
  /** Also plot the momentum, in a second panel. @default {false} */
  readonly showMoms?: boolean;
}

/**
 * The learning rate of each training batch (and, with `showMoms`, the momentum).
 *
 * @param history A fit's history.
 * @param options Whether to show momentum.
 * @returns The picture.
 *
 * @example
 * ```ts
 * import { plotLr } from "@fitloop/fitloop/callbacks";
 * import { assertStringIncludes } from "@std/assert";
 * const h = { losses: [], lrs: [1, 2], moms: [0.9, 0.8], valLosses: [], metrics: [], metricNames: [], nBatches: [2] };
 * assertStringIncludes(plotLr(h, { showMoms: true }).svg, "momentum");
 * ```
 */
export function plotLr(history: History, options: PlotLrOptions = {}): SvgPlot {
  const x = range(history.lrs.length);
  const panels: _Panel[] = [{
    title: "Learning rate",
    xLabel: "iteration",
    yLabel: "lr",
    series: [{ x, y: history.lrs, label: "lr" }],
  }];
  if (options.showMoms) {
    panels.push({
      title: "Momentum",
      xLabel: "iteration",
      yLabel: "momentum",
      series: [{ x, y: history.moms, label: "mom" }],
    });
  }
  return _figure(panels);
}

/**
 * Each metric per epoch, one panel per metric; epochs numbered from 0 as in the epoch
 * table.
 *
 * @param history A fit's history.
 * @returns The picture.
 *
 * @example
 * ```ts
 * import { plotMetrics } from "@fitloop/fitloop/callbacks";
 * import { assertStringIncludes } from "@std/assert";
 * const h = { losses: [], lrs: [], moms: [], valLosses: [1, 0.5], metrics: [[0.5], [0.8]], metricNames: ["accuracy"], nBatches: [1, 1] };
 * assertStringIncludes(plotMetrics(h).svg, "accuracy");
 * ```
 */
export function plotMetrics(history: History): SvgPlot {
  const x = range(history.metrics.length);
  return _figure(history.metricNames.map((name, i) => ({
    title: name,
    xLabel: "epoch",
    yLabel: name,
    series: [{
      x,
      y: history.metrics.map((row) => row[i] ?? NaN),
      label: name,
      dots: x.length < 2,
    }],
  })));
}

/** Options of {@linkcode plotLrFind}. */
export interface PlotLrFindOptions {
  /** Points left out at the start. @default {10} */
  readonly skipStart?: number;
  /** Points left out at the end. @default {5} */
  readonly skipEnd?: number;
}

/**
 * The LR range test: smoothed loss against learning rate on a log axis, with the
 * suggestions marked by symbols and named, with their values, in the legend.
 *
 * @param found What `lrFind` returned.
 * @param options Points to leave out at either end.
 * @returns The picture.
 *
 * @example
 * ```ts
 * import { plotLrFind } from "@fitloop/fitloop/callbacks";
 * import { assertStringIncludes } from "@std/assert";
 * const lrs = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1];
 * const found = { lrs, losses: [1, 0.9, 0.5, 0.4, 2], suggestions: { steepest: 1e-4, minLossDiv10: 1e-3, valley: 1e-3 } };
 * assertStringIncludes(plotLrFind(found, { skipStart: 0, skipEnd: 0 }).svg, "1e-3");
 * ```
 */
export function plotLrFind(found: LrFindResult, options: PlotLrFindOptions = {}): SvgPlot {
  const { skipStart = 10, skipEnd = 5 } = options;
  const enough = found.lrs.length - skipStart - skipEnd >= 2;
  const from = enough ? skipStart : 0;
  const to = enough ? found.lrs.length - skipEnd : found.lrs.length;
  const lrs = found.lrs.slice(from, to);
  const losses = found.losses.slice(from, to);
  const near = (lr: number): number => {
    let best = 0;
    lrs.forEach((v, i) => {
      if (Math.abs(Math.log(v / lr)) < Math.abs(Math.log(lrs[best]! / lr))) best = i;
    });
    return losses[best] ?? NaN;
  };
  const markers: _Marker[] = Object.entries(found.suggestions).map(([name, lr]) => ({
    x: lr,
    y: near(lr),
    label: `${name} ${lr.toExponential(2).replace("e+", "e")}`,
  }));
  return _figure([{
    title: "LR finder",
    xLabel: "learning rate (log scale)",
    yLabel: "smoothed loss",
    logX: true,
    series: [{ x: lrs, y: losses, label: "loss" }],
    markers,
  }]);
}

/**
 * A schedule over `n` steps (the values a training of `n` batches would see).
 *
 * @param schedule The schedule.
 * @param n Number of steps.
 * @returns The picture.
 *
 * @example
 * ```ts
 * import { plotSchedule } from "@fitloop/fitloop/callbacks";
 * import { annealingCos } from "@fitloop/fitloop/schedules";
 * import { assertStringIncludes } from "@std/assert";
 * assertStringIncludes(plotSchedule(annealingCos(1, 0), 50).svg, "<path");
 * ```
 */
export function plotSchedule(schedule: Schedule, n: number): SvgPlot {
  return _figure([{
    title: "Schedule",
    xLabel: "step",
    yLabel: "value",
    series: [{ x: range(n), y: simulate(schedule, n), label: "value" }],
  }]);
}
