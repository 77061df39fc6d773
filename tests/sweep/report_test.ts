import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import {
  bestTrialJson,
  plotParallelCoordinates,
  plotSweep,
  sweepTable,
  sweepToCsv,
} from "../../sweep/sweep_report.ts";
import type { TrialRecord } from "../../sweep/types.ts";

const t = (
  index: number,
  lr: number,
  act: string,
  status: TrialRecord["status"],
  objective: number | null,
  error?: string,
): TrialRecord => ({
  key: "",
  index,
  params: { lr, act, epochs: 3 },
  status,
  objective,
  epochs: [{}, {}],
  seconds: 1,
  ...(error ? { error } : {}),
});

const trials = [
  t(0, 1e-4, "relu", "finished", 0.5),
  t(1, 1e-2, "tanh", "pruned", 0.9),
  t(2, 1e-1, "relu", "finished", 0.2),
  t(3, 1e-3, "gelu", "failed", null, "RangeError: the loss\nwas NaN"),
];

Deno.test("parallel coordinates: a line per usable trial, the best thick, pruned dashed, failed out", () => {
  const svg = plotParallelCoordinates(trials, "minimize").svg;
  const lines = [
    ...svg.matchAll(/<polyline points="([^"]*)"[^>]*stroke-width="([\d.]+)"([^>]*)>/g),
  ];
  assertEquals(lines.length, 3);
  // constant parameters get no axis: lr, act and the objective do, so three points per line
  assert(lines.every((l) => l[1]!.split(" ").length === 3));
  const thick = lines.filter((l) => l[2] === "3.5");
  assertEquals(thick.length, 1);
  assertStringIncludes(svg, "Thick: best trial (2)");
  assertEquals(lines.filter((l) => l[3]!.includes("stroke-dasharray")).length, 1);
  assertStringIncludes(svg, "lr (log)");
  assertStringIncludes(svg, "1 failed not shown");
  assert(!svg.includes(">epochs<"));
  // the best line is drawn last (on top)
  assertEquals(lines.at(-1)![2], "3.5");
});

Deno.test("the reports take a result or its trials alike, and refuse anything else", () => {
  const result = { trials, best: trials[2], direction: "minimize" as const, resumed: 0, ran: 4 };
  assertEquals(sweepTable(result).text, sweepTable(trials).text);
  assertEquals(sweepToCsv(result), sweepToCsv(trials));
  assertEquals(
    plotSweep(result).svg.replace("objective (minimize)", "objective"),
    plotSweep(trials).svg,
  );
  assertEquals(bestTrialJson(result), bestTrialJson(trials, "minimize"));
  assertEquals(JSON.parse(bestTrialJson(trials, "maximize")).index, 1); // a pruned trial counts
  for (const f of [sweepTable, sweepToCsv, plotSweep, plotParallelCoordinates]) {
    assertThrows(
      () => f({ nope: 1 } as never),
      TypeError,
      "must be a sweep's result or an array of trials",
    );
  }
  // the failure reason on one line in the table, whole in the CSV
  const table = sweepTable(trials).text.split("\n");
  assert(table[4]!.endsWith("RangeError: the loss was NaN"), table[4]);
  assertStringIncludes(sweepToCsv(trials), '"RangeError: the loss\nwas NaN"');
});

Deno.test("sweepTable() shows as a table: printed text, and HTML with a text copy in a notebook", () => {
  const trials: TrialRecord[] = [
    {
      key: "a",
      index: 0,
      params: { lr: 0.1 },
      status: "finished",
      objective: 0.5,
      epochs: [{}],
      seconds: 2,
    },
    {
      key: "b",
      index: 1,
      params: { lr: 1 },
      status: "failed",
      objective: null,
      epochs: [],
      seconds: 0,
      error: "x < y",
    },
  ];
  const table = sweepTable(trials);
  // what console.log prints (not a quoted string, not an object dump)
  assertEquals(Deno.inspect(table), table.text);
  assertEquals(String(table), table.text);
  const shown = (table as unknown as Record<symbol, () => Record<string, string>>)[
    Symbol.for("Jupyter.display")
  ]!();
  assertEquals(shown["text/plain"], table.text);
  assertStringIncludes(shown["text/html"]!, "<th>objective</th>");
  assertStringIncludes(shown["text/html"]!, "<td>x &lt; y</td>"); // escaped
  assertEquals(table.rows.length, 3);
});
