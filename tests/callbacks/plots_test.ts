import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import {
  plotLosses,
  plotLr,
  plotLrFind,
  plotMetrics,
  plotSchedule,
} from "../../callbacks/plots.ts";
import { _ticks } from "../../callbacks/_svg.ts";
import { annealingCos } from "../../schedules/annealing.ts";
import type { History } from "../../core/recorder.ts";

const history: History = {
  losses: [2, 1.5, 1.2, 1, 0.9, 0.8],
  lrs: [1e-3, 2e-3, 3e-3, 3e-3, 2e-3, 1e-3],
  moms: [0.95, 0.9, 0.85, 0.85, 0.9, 0.95],
  valLosses: [1.1, 0.85],
  metrics: [[0.6, 0.4], [0.8, 0.2]],
  metricNames: ["accuracy", "errorRate"],
  nBatches: [3, 3],
};

function count(svg: string, needle: string): number {
  return svg.split(needle).length - 1;
}

Deno.test("plotLosses() draws train per batch and valid at each epoch end, with axes and labels", () => {
  const { svg } = plotLosses(history);
  assert(svg.startsWith("<svg"));
  assertStringIncludes(svg, "batches processed");
  assertStringIncludes(svg, ">loss<");
  assertEquals(count(svg, "<path"), 2); // train and valid lines
  assert(count(svg, "<line") >= 8, "ticks");
});

Deno.test("plotLr() has a momentum panel only with showMoms", () => {
  assertEquals(count(plotLr(history).svg, ">Momentum<"), 0);
  const both = plotLr(history, { showMoms: true }).svg;
  assertStringIncludes(both, ">Momentum<");
  assertStringIncludes(both, 'width="960"');
});

Deno.test("plotMetrics() gives a panel per metric", () => {
  const svg = plotMetrics(history).svg;
  assertStringIncludes(svg, ">accuracy<");
  assertStringIncludes(svg, ">errorRate<");
});

Deno.test("plotLrFind() uses a log lr axis with decade ticks and marks the suggestions", () => {
  const lrs = Array.from({ length: 40 }, (_, i) => 10 ** (-7 + i / 5));
  const losses = lrs.map((_, i) => 2 - Math.sin(i / 12));
  const svg =
    plotLrFind({ lrs, losses, suggestions: { steepest: 1e-5, minLossDiv10: 1e-4, valley: 3e-5 } })
      .svg;
  assertStringIncludes(svg, "learning rate (log scale)");
  for (const t of ["1e-5", "1e-4", "1e-3"]) assertStringIncludes(svg, `>${t}<`);
  for (const s of ["steepest", "minLossDiv10", "valley"]) assertStringIncludes(svg, `>${s}<`);
});

Deno.test("plotSchedule() and every plot display as SVG in Jupyter", () => {
  const plot = plotSchedule(annealingCos(1, 0), 20);
  const display = (plot as unknown as Record<symbol, () => Record<string, string>>)[
    Symbol.for("Jupyter.display")
  ]!;
  assertEquals(display()["image/svg+xml"], plot.svg);
  assertEquals(String(plot), plot.svg);
});

Deno.test("axis ticks are nice numbers on linear axes and decades on log axes", () => {
  assertEquals(_ticks(0, 1, false), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assertEquals(_ticks(3, 47, false), [10, 20, 30, 40]);
  assertEquals(_ticks(2e-7, 5, true), [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1]);
});
