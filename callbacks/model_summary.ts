import * as tf from "@tensorflow/tfjs";
import type { LearnerCore } from "../core/learner_core.ts";
import type { Variable } from "../core/types.ts";
import { layerGroupsOf } from "../core/_params.ts";

/** One row of a {@linkcode ModelSummary}: a layer (or a hand-written model's variable). */
export interface SummaryRow {
  /** The layer's name (a variable's name for a hand-written model). */
  readonly name: string;
  /** The layer's class ("variable" for a hand-written model). */
  readonly type: string;
  /** The output shape, batch dimension as `?` (a variable's own shape). */
  readonly outputShape: string;
  /** Number of weights (trainable or not, batch-norm statistics included). */
  readonly params: number;
  /** How many of them train now (frozen ones and running statistics do not). */
  readonly trainableParams: number;
  /** The layer groups of its weights ("" for a layer without weights, "-" for none). */
  readonly group: string;
}

/** What {@linkcode modelSummary} returns. */
export interface ModelSummary {
  /** One row per layer, in order. */
  readonly rows: readonly SummaryRow[];
  /** All weights. */
  readonly totalParams: number;
  /** Weights that train now. */
  readonly trainableParams: number;
  /** The table as text (fastai's `model_summary` layout, with a group column). */
  readonly text: string;
  /** The table as text. */
  toString(): string;
}

function _shape(shape: unknown): string {
  if (Array.isArray(shape) && Array.isArray(shape[0])) return shape.map(_shape).join(", ");
  return `[${(shape as (number | null)[]).map((d) => d ?? "?").join(", ")}]`;
}

function _table(rows: readonly SummaryRow[], total: number, trainable: number): string {
  const head = ["Layer (type)", "Output shape", "Params", "Trainable", "Group"];
  const cells = rows.map((r) => [
    `${r.name} (${r.type})`,
    r.outputShape,
    String(r.params),
    r.params === 0
      ? ""
      : r.trainableParams === r.params
      ? "yes"
      : r.trainableParams === 0
      ? "no"
      : `${r.trainableParams}`,
    r.group,
  ]);
  const widths = head.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c]!.length)));
  const line = (row: readonly string[]): string =>
    row.map((v, c) => (c === 2 ? v.padStart(widths[c]!) : v.padEnd(widths[c]!))).join("  ")
      .trimEnd();
  const rule = "=".repeat(widths.reduce((a, b) => a + b + 2, -2));
  return [
    line(head),
    rule,
    ...cells.map(line),
    rule,
    `Total params: ${total}`,
    `Trainable params: ${trainable}`,
    `Non-trainable params: ${total - trainable}`,
  ].join("\n");
}

/**
 * A table of the learner's model (fastai's `model_summary`): per layer its output shape,
 * number of weights, whether they train now (yes, no, or how many: freezing and running
 * statistics), and its layer group; totals below. For a hand-written model, one row per
 * variable. Displays as text in Jupyter.
 *
 * @param learn The learner.
 * @returns The rows, the totals and the table as text.
 *
 * @example A frozen body
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { freeze, learner, mse } from "@fitloop/fitloop";
 * import { modelSummary } from "@fitloop/fitloop/callbacks";
 * import { assertEquals } from "@std/assert";
 * const model = tf.sequential({ layers: [
 *   tf.layers.dense({ units: 4, inputShape: [3], name: "body" }),
 *   tf.layers.dense({ units: 2, name: "head" }),
 * ] });
 * const learn = learner({ model, data: { train: [] }, loss: mse, layerGroups: { splitAt: [1] } });
 * freeze(learn);
 * const summary = modelSummary(learn);
 * assertEquals(summary.rows.map((r) => [r.name, r.outputShape, r.params, r.trainableParams, r.group]), [
 *   ["body", "[?, 4]", 16, 0, "0"],
 *   ["head", "[?, 2]", 10, 10, "1"],
 * ]);
 * assertEquals([summary.totalParams, summary.trainableParams], [26, 10]);
 * model.dispose();
 * ```
 */
export function modelSummary(learn: LearnerCore): ModelSummary {
  const { groupOf } = layerGroupsOf(learn);
  const groups = (vars: readonly Variable[]): string => {
    if (vars.length === 0) return "";
    const gs = [...new Set(vars.map(groupOf))];
    if (gs.every((g) => g === undefined)) return "-";
    return gs.filter((g) => g !== undefined).sort((a, b) => a! - b!).join(", ");
  };
  const size = (vars: readonly { shape: readonly number[] }[]): number =>
    vars.reduce((n, v) => n + v.shape.reduce((a, b) => a * b, 1), 0);
  const model = learn.model;
  let rows: SummaryRow[];
  if (model instanceof tf.LayersModel) {
    rows = model.layers.map((layer) => {
      let outputShape: string;
      try {
        outputShape = _shape(layer.outputShape);
      } catch {
        outputShape = "multiple";
      }
      const vars = layer.weights.map((w) => w.read() as Variable);
      return {
        name: layer.name,
        type: layer.getClassName(),
        outputShape,
        params: size(vars),
        trainableParams: size(layer.trainableWeights.map((w) => w.read())),
        group: groups(vars),
      };
    });
  } else {
    rows = model.variables.map((v) => ({
      name: v.name,
      type: "variable",
      outputShape: _shape(v.shape),
      params: v.size,
      trainableParams: v.trainable ? v.size : 0,
      group: groups([v]),
    }));
  }
  const totalParams = rows.reduce((n, r) => n + r.params, 0);
  const trainableParams = rows.reduce((n, r) => n + r.trainableParams, 0);
  const text = _table(rows, totalParams, trainableParams);
  const summary = { rows, totalParams, trainableParams, text, toString: (): string => text };
  Object.defineProperty(summary, Symbol.for("Jupyter.display"), {
    value: () => ({ "text/plain": text }),
  });
  return summary;
}
