import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import {
  plotLosses,
  plotLr,
  plotLrFind,
  plotMetrics,
  plotSchedule,
} from "../../callbacks/plots.ts";
import { _figure, _ticks } from "../../callbacks/_svg.ts";
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

/** A tick label's value: "1e-3" on a log axis is its exponent (-3), else the number. */
function tickValue(label: string): number {
  const m = label.match(/^1e(-?\d+)$/);
  return m ? Number(m[1]) : Number(label);
}

/**
 * The first panel's axes as drawn: from its first and last tick labels and their pixel
 * positions, the data coordinates of a pixel (log axes in decades). Independent of the
 * renderer's internals: it reads the picture as a person reads the axes.
 */
function axes(svg: string): { x(px: number): number; y(py: number): number; logX: boolean } {
  const xt = [
    ...svg.matchAll(/<text x="([\d.]+)" y="[\d.]+" text-anchor="middle" font-size="11">([^<]+)</g),
  ].map((m) => [Number(m[1]), m[2]!] as const).filter(([px]) => px < 480);
  const yt = [
    ...svg.matchAll(
      /<text x="([\d.]+)" y="([\d.]+)" text-anchor="end" dominant-baseline="middle" font-size="11">([^<]+)</g,
    ),
  ].filter((m) => Number(m[1]) < 480).map((m) => [Number(m[2]), m[3]!] as const);
  const line = (ticks: readonly (readonly [number, string])[]) => {
    const [p0, l0] = ticks[0]!;
    const [p1, l1] = ticks.at(-1)!;
    const [v0, v1] = [tickValue(l0), tickValue(l1)];
    return (p: number) => v0 + (p - p0) * (v1 - v0) / (p1 - p0);
  };
  const logX = xt.every(([, l]) => /^1e-?\d+$/.test(l));
  const lx = line(xt);
  return { x: logX ? (px) => 10 ** lx(px) : lx, y: line(yt), logX };
}

/** The vertices of each plotted line (`<path>` of stroke-width 1.5), in pixels. */
function lines(svg: string): [number, number][][] {
  return [...svg.matchAll(/<path d="([^"]+)" fill="none" stroke="[^"]+" stroke-width="1.5"\/>/g)]
    .map((m) =>
      m[1]!.split(/(?=[ML])/).map((c) => c.slice(1).split(",").map(Number) as [number, number])
    );
}

/** Rough boxes of every horizontal text: the pairs that overlap. */
function overlappingTexts(svg: string): string[] {
  const boxes = [
    ...svg.matchAll(
      /<text x="([\d.]+)" y="([\d.]+)"(?: text-anchor="(\w+)")?[^>]*font-size="(\d+)"[^>]*>([^<]*)</g,
    ),
  ].map((m) => {
    const [x, y, anchor, size, text] = [Number(m[1]), Number(m[2]), m[3], Number(m[4]), m[5]!];
    const w = text.length * size * 0.55;
    const left = anchor === "middle" ? x - w / 2 : anchor === "end" ? x - w : x;
    return { text, left, right: left + w, top: y - size / 2, bottom: y + size / 2 };
  });
  const out: string[] = [];
  boxes.forEach((a, i) =>
    boxes.slice(i + 1).forEach((b) => {
      if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) {
        out.push(`${a.text} / ${b.text}`);
      }
    })
  );
  return out;
}

function near(actual: number, expected: number, tol: number, what: string): void {
  assert(Math.abs(actual - expected) <= tol, `${what}: ${actual} is not ${expected} ± ${tol}`);
}

Deno.test("plotLosses() draws train per batch and valid at each epoch end, with axes and labels", () => {
  const { svg } = plotLosses(history);
  assert(svg.startsWith("<svg"));
  assertStringIncludes(svg, "batches processed");
  assertStringIncludes(svg, ">loss<");
  assertEquals(count(svg, "<path"), 2); // train and valid lines
  assert(count(svg, "<line") >= 8, "ticks");
});

Deno.test("plotLosses() puts train loss i after i + 1 batches and valid at each epoch's end", () => {
  const svg = plotLosses(history).svg;
  const ax = axes(svg);
  const [train, valid] = lines(svg);
  assertEquals([train!.length, valid!.length], [6, 2]);
  train!.forEach(([px, py], i) => {
    near(ax.x(px), i + 1, 0.01, `x of batch ${i}`);
    near(ax.y(py), history.losses[i]!, 0.002, `y of batch ${i}`);
  });
  valid!.forEach(([px, py], e) => {
    near(ax.x(px), 3 * (e + 1), 0.01, `x of epoch ${e}`);
    near(ax.y(py), history.valLosses[e]!, 0.002, `y of epoch ${e}`);
  });
  assertEquals(overlappingTexts(svg), []);
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

Deno.test("plotMetrics() puts epoch k at x = k (0-based, as the table) and its value at y", () => {
  const values = [0.61, 0.74, 0.8, 0.86, 0.9];
  const h: History = { ...history, metrics: values.map((v) => [v]), metricNames: ["accuracy"] };
  const svg = plotMetrics(h).svg;
  const ax = axes(svg);
  const [points] = lines(svg);
  assertEquals(points!.length, 5);
  points!.forEach(([px, py], k) => {
    near(ax.x(px), k, 0.01, `x of epoch ${k}`);
    near(ax.y(py), values[k]!, 0.001, `y of epoch ${k}`);
  });
  assertEquals(count(svg, "<rect x="), 1); // the frame only: no legend for one line
});

Deno.test("plotLrFind() uses a log lr axis with decade ticks and names the suggestions", () => {
  const lrs = Array.from({ length: 40 }, (_, i) => 10 ** (-7 + i / 5));
  const losses = lrs.map((_, i) => 2 - Math.sin(i / 12));
  const svg =
    plotLrFind({ lrs, losses, suggestions: { steepest: 1e-5, minLossDiv10: 1e-4, valley: 3e-5 } })
      .svg;
  assertStringIncludes(svg, "learning rate (log scale)");
  for (const t of ["1e-5", "1e-4", "1e-3"]) assertStringIncludes(svg, `>${t}<`);
  for (const s of ["steepest 1.00e-5", "minLossDiv10 1.00e-4", "valley 3.00e-5"]) {
    assertStringIncludes(svg, `>${s}<`);
  }
});

Deno.test("plotLrFind(): suggestions at their lr and loss, named in a legend, no label over another", () => {
  const lrs = Array.from({ length: 60 }, (_, i) => 10 ** (-6 + i / 10));
  const losses = lrs.map((lr) => 1 - 0.5 * Math.tanh(Math.log10(lr) + 1.5) + (lr > 1 ? lr : 0));
  // three suggestions close together: their names used to be drawn on top of each other
  const suggestions = { steepest: 10 ** -1.5, minLossDiv10: 10 ** -1.52, valley: 10 ** -1.6 };
  const svg = plotLrFind({ lrs, losses, suggestions }, { skipStart: 0, skipEnd: 0 }).svg;
  const ax = axes(svg);
  assert(ax.logX);
  const [curve] = lines(svg);
  assertEquals(curve!.length, 60);
  curve!.forEach(([px, py], i) => {
    near(Math.log10(ax.x(px)), Math.log10(lrs[i]!), 0.01, `x of point ${i}`);
    near(ax.y(py), losses[i]!, 0.005, `y of point ${i}`);
  });
  // the first suggestion is a circle at (lr, loss at the nearest lr tried)
  const circle = svg.match(/<circle cx="([\d.]+)" cy="([\d.]+)" r="5"/)!;
  near(Math.log10(ax.x(Number(circle[1]))), -1.5, 0.01, "steepest x");
  near(ax.y(Number(circle[2])), losses[45]!, 0.005, "steepest y");
  assertEquals(overlappingTexts(svg), []);
});

Deno.test("a series of dots shows a dot in the legend, not a line; one series has no legend", () => {
  const dots = { x: [1, 2, 3], y: [3, 1, 2], label: "trial", dots: true };
  const one = _figure([{ title: "t", xLabel: "x", yLabel: "y", series: [dots] }]).svg;
  assertEquals(count(one, ">trial<"), 0);
  const two = _figure([{
    title: "t",
    xLabel: "x",
    yLabel: "y",
    series: [dots, { x: [1, 3], y: [2, 2], label: "mean" }],
  }]).svg;
  assertStringIncludes(two, ">trial<");
  assertStringIncludes(two, ">mean<");
  // the only legend line is the "mean" one; the dots' entry is a dot
  assertEquals(count(two, 'stroke-width="2"/>'), 1);
  assertEquals(count(two, 'r="3"'), 4); // three data dots and the legend's
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
