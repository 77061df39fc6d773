import * as tf from "@tensorflow/tfjs";
import type { LearnerCore } from "../core/learner_core.ts";
import type { Tensor } from "../core/types.ts";
import { epochBatches, type LoopBatch } from "../core/_epoch.ts";
import { forward } from "../core/_params.ts";
import type { SvgPlot } from "./_svg.ts";
import { _base64, _png } from "./_png.ts";

/** Options of {@linkcode interpret}. */
export interface InterpretOptions {
  /** Class names, in label order. @default {"0", "1", …} */
  readonly classes?: readonly string[];
  /** How many of the highest losses to keep, with their inputs. @default {9} */
  readonly k?: number;
  /**
   * The loss of each sample: `(output, target) => [batch]` tensor. @default {softmax
   * cross-entropy of the logits against the labels (or one-hot / probability targets)}
   */
  readonly lossPerSample?: (output: Tensor, target: Tensor) => Tensor;
}

/** A validation sample among the highest losses. */
export interface TopLoss {
  /** Its position in the pass over the validation data (0-based). */
  readonly index: number;
  /** Its loss. */
  readonly loss: number;
  /** Its label. */
  readonly actual: number;
  /** The predicted class (highest score). */
  readonly predicted: number;
  /** The predicted class's softmax probability. */
  readonly probability: number;
  /** Its input (when the batches' input is one tensor). */
  readonly input: { readonly shape: readonly number[]; readonly values: Float32Array } | undefined;
}

/** A pair of classes and how often the first was predicted as the second. */
export interface ConfusedPair {
  /** The actual class's name. */
  readonly actual: string;
  /** The predicted class's name. */
  readonly predicted: string;
  /** How many validation samples. */
  readonly count: number;
}

/** What {@linkcode interpret} returns (fastai's ClassificationInterpretation). */
export interface Interpretation {
  /** Class names, in label order. */
  readonly classes: readonly string[];
  /** `confusion[actual][predicted]`: sample counts. */
  readonly confusion: readonly (readonly number[])[];
  /** Off-diagonal pairs with at least one sample, most frequent first (fastai's `most_confused`). */
  readonly mostConfused: readonly ConfusedPair[];
  /** The `k` highest losses, highest first (fastai's `top_losses`). */
  readonly topLosses: readonly TopLoss[];
  /** Validation samples seen. */
  readonly nSamples: number;
}

function _perSampleCrossEntropy(output: Tensor, target: Tensor): Tensor {
  const logp = tf.logSoftmax(output);
  const probs = target.rank === 2 && target.shape[1] === output.shape[1] && output.shape[1] !== 1
    ? tf.cast(target, "float32")
    : tf.oneHot(tf.cast(tf.reshape(target, [-1]), "int32"), output.shape[1]!);
  return tf.neg(tf.sum(tf.mul(probs, logp), -1));
}

function _labels(target: Tensor, nClasses: number): Tensor {
  if (target.rank === 2 && target.shape[1] === nClasses && nClasses !== 1) {
    return tf.argMax(target, 1);
  }
  return tf.cast(tf.reshape(target, [-1]), "int32");
}

interface _Top {
  readonly loss: Tensor;
  readonly index: Tensor;
  readonly actual: Tensor;
  readonly predicted: Tensor;
  readonly probability: Tensor;
  readonly input: Tensor | undefined;
}

/**
 * Reads a trained classifier on its validation data (fastai's ClassificationInterpretation):
 * the confusion matrix, the most confused pairs of classes and the highest losses with
 * their inputs. One pass over `learn.data.valid` in inference mode; the matrix and the
 * running top-k are kept on the device and read once at the end (no read per batch).
 * Plot them with {@linkcode plotConfusion} and {@linkcode plotTopLosses}.
 *
 * @param learn The learner (a model whose output is class scores `[batch, classes]`).
 * @param options Class names, how many top losses, the per-sample loss.
 * @returns The interpretation.
 * @throws {TypeError} If the learner has no validation data or its output is not `[batch, classes]`.
 * @throws {RangeError} If `k` is not a positive integer or `classes` has the wrong length.
 *
 * @example Three samples, one of them misclassified
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { batches, interpret, learner, crossEntropy } from "@fitloop/fitloop";
 * import { assertEquals } from "@std/assert";
 * // a "model" that returns its input as logits
 * const model = { variables: [], apply: (x: tf.Tensor) => x.clone() };
 * const x = tf.tensor2d([[2, 0], [0, 3], [1, 0]]);
 * const y = tf.tensor1d([0, 1, 1], "int32");
 * const learn = learner({ model, data: { train: [], valid: batches(x, y, { batchSize: 2 }) }, loss: crossEntropy });
 * const interp = await interpret(learn, { classes: ["cat", "dog"], k: 1 });
 * assertEquals(interp.confusion, [[1, 0], [1, 1]]);
 * assertEquals(interp.mostConfused, [{ actual: "dog", predicted: "cat", count: 1 }]);
 * assertEquals([interp.topLosses[0]!.index, interp.topLosses[0]!.predicted], [2, 0]);
 * tf.dispose([x, y]);
 * ```
 */
export async function interpret(
  learn: LearnerCore,
  options: InterpretOptions = {},
): Promise<Interpretation> {
  const valid = learn.data.valid;
  if (valid === undefined) {
    throw new TypeError(
      "Cannot interpret as the learner has no validation data: 'data.valid' is undefined",
    );
  }
  const k = options.k ?? 9;
  if (!(Number.isInteger(k) && k >= 1)) {
    throw new RangeError(
      `Cannot interpret as 'k' must be a positive integer: current value is ${k}`,
    );
  }
  const lossPerSample = options.lossPerSample ?? _perSampleCrossEntropy;
  let confusion: Tensor | undefined;
  let top: _Top | undefined;
  let nClasses = 0;
  let offset = 0;
  const it = epochBatches(valid, 0, 0, 0);
  try {
    for (;;) {
      const r = await it.next();
      if (r.done) break;
      const batch: LoopBatch = r.value;
      try {
        const input = batch.input;
        const out = tf.tidy(() => forward(learn, input, false));
        try {
          if (out.rank !== 2) {
            throw new TypeError(
              `Cannot interpret as the model's output must be class scores [batch, classes]: ` +
                `it has shape [${out.shape}]`,
            );
          }
          nClasses = out.shape[1]!;
          const size = out.shape[0]!;
          const next = tf.tidy(() => {
            const actual = _labels(batch.target, nClasses);
            const predicted = tf.argMax(out, 1);
            const counts = tf.matMul(
              tf.oneHot(actual, nClasses).toFloat(),
              tf.oneHot(predicted, nClasses).toFloat(),
              true,
            );
            const row: _Top = {
              loss: tf.reshape(lossPerSample(out, batch.target), [-1]),
              index: tf.range(offset, offset + size, 1, "int32"),
              actual,
              predicted,
              probability: tf.max(tf.softmax(out), 1),
              input: input instanceof tf.Tensor ? tf.cast(input, "float32") : undefined,
            };
            const all = top ? _concat(top, row) : row;
            const kept = tf.topk(all.loss, Math.min(k, all.loss.shape[0]!)).indices;
            const pick = (t: Tensor | undefined): Tensor | undefined =>
              t === undefined ? undefined : tf.gather(t, kept);
            return {
              confusion: confusion ? tf.add(confusion, counts) : counts,
              top: {
                loss: pick(all.loss)!,
                index: pick(all.index)!,
                actual: pick(all.actual)!,
                predicted: pick(all.predicted)!,
                probability: pick(all.probability)!,
                input: pick(all.input),
              },
            };
          });
          tf.dispose([confusion!, ..._tensors(top)].filter((t) => t !== undefined));
          confusion = next.confusion;
          top = next.top;
          offset += size;
        } finally {
          out.dispose();
        }
      } finally {
        if (batch.owned) {
          tf.dispose([...(Array.isArray(batch.input) ? batch.input : [batch.input]), batch.target]);
        }
      }
    }
    return await _read(confusion, top, nClasses, offset, options.classes);
  } finally {
    await it.return?.();
    tf.dispose([confusion!, ..._tensors(top)].filter((t) => t !== undefined));
  }
}

function _tensors(top: _Top | undefined): Tensor[] {
  if (!top) return [];
  const { loss, index, actual, predicted, probability, input } = top;
  return [loss, index, actual, predicted, probability, ...(input ? [input] : [])];
}

function _concat(a: _Top, b: _Top): _Top {
  return {
    loss: tf.concat([a.loss, b.loss]),
    index: tf.concat([a.index, b.index]),
    actual: tf.concat([tf.cast(a.actual, "int32"), tf.cast(b.actual, "int32")]),
    predicted: tf.concat([a.predicted, b.predicted]),
    probability: tf.concat([a.probability, b.probability]),
    input: a.input && b.input ? tf.concat([a.input, b.input]) : undefined,
  };
}

async function _read(
  confusion: Tensor | undefined,
  top: _Top | undefined,
  nClasses: number,
  nSamples: number,
  names: readonly string[] | undefined,
): Promise<Interpretation> {
  const classes = names?.slice() ?? Array.from({ length: nClasses }, (_, i) => String(i));
  if (classes.length !== nClasses) {
    throw new RangeError(
      `Cannot interpret as 'classes' must name the model's ${nClasses} classes: it has ${classes.length}`,
    );
  }
  if (!confusion || !top) {
    return { classes, confusion: [], mostConfused: [], topLosses: [], nSamples: 0 };
  }
  const [counts, loss, index, actual, predicted, probability, input] = await Promise.all([
    confusion.data(),
    top.loss.data(),
    top.index.data(),
    top.actual.data(),
    top.predicted.data(),
    top.probability.data(),
    top.input?.data(),
  ]);
  const matrix = classes.map((_, a) =>
    Array.from(counts.subarray(a * nClasses, (a + 1) * nClasses), (v) => Math.round(v))
  );
  const pairs: ConfusedPair[] = [];
  matrix.forEach((row, a) =>
    row.forEach((count, p) => {
      if (a !== p && count > 0) pairs.push({ actual: classes[a]!, predicted: classes[p]!, count });
    })
  );
  pairs.sort((x, y) => y.count - x.count);
  const shape = top.input?.shape.slice(1) ?? [];
  const each = shape.reduce((a, b) => a * b, 1);
  const topLosses: TopLoss[] = Array.from(loss, (l, i) => ({
    index: index[i]!,
    loss: l,
    actual: actual[i]!,
    predicted: predicted[i]!,
    probability: probability[i]!,
    input: input
      ? { shape, values: Float32Array.from(input.subarray(i * each, (i + 1) * each)) }
      : undefined,
  }));
  return { classes, confusion: matrix, mostConfused: pairs, topLosses, nSamples };
}

const esc = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

function _svg(width: number, height: number, body: string[]): SvgPlot {
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" ` +
    `width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `font-family="sans-serif">\n<rect width="${width}" height="${height}" fill="white"/>\n` +
    `${body.join("\n")}\n</svg>\n`;
  const plot = { svg, toString: (): string => svg };
  Object.defineProperty(plot, Symbol.for("Jupyter.display"), {
    value: () => ({ "image/svg+xml": svg }),
  });
  return plot;
}

/** Options of {@linkcode plotConfusion}. */
export interface PlotConfusionOptions {
  /** Show each row as fractions of its actual class (colours too). @default {false} */
  readonly normalize?: boolean;
}

/**
 * The confusion matrix as a picture: actual classes down, predicted across, each cell
 * shaded by its count (or row fraction) and labelled with it.
 *
 * @param interp What {@linkcode interpret} returned.
 * @param options Counts or row fractions.
 * @returns The picture.
 *
 * @example
 * ```ts
 * import { plotConfusion } from "@fitloop/fitloop/callbacks";
 * import { assertStringIncludes } from "@std/assert";
 * const svg = plotConfusion({
 *   classes: ["cat", "dog"], confusion: [[5, 1], [2, 7]], mostConfused: [], topLosses: [], nSamples: 15,
 * }).svg;
 * assertStringIncludes(svg, ">dog</text>");
 * assertStringIncludes(svg, ">7</text>");
 * ```
 */
export function plotConfusion(interp: Interpretation, options: PlotConfusionOptions = {}): SvgPlot {
  const normalize = options.normalize ?? false;
  const n = interp.classes.length;
  const cell = Math.max(16, Math.min(56, Math.floor(440 / Math.max(1, n))));
  const longest = Math.max(1, ...interp.classes.map((c) => c.length));
  const left = 44 + Math.min(160, longest * 7);
  const top = 40;
  const slanted = longest > 3; // long predicted labels are written at 45 degrees
  const bottom = 44 + (slanted ? Math.min(160, longest * 5) : 0);
  const width = left + n * cell + 24;
  const height = top + n * cell + bottom;
  const rows = interp.confusion.map((row) => {
    const total = row.reduce((a, b) => a + b, 0);
    return row.map((v) => (normalize ? (total > 0 ? v / total : 0) : v));
  });
  const max = Math.max(1e-12, ...rows.flat());
  const font = Math.max(8, Math.min(14, Math.floor(cell / 3)));
  const body: string[] = [
    `<text x="${left + (n * cell) / 2}" y="24" text-anchor="middle" font-size="15">` +
    `Confusion matrix${normalize ? " (row fractions)" : ""}</text>`,
  ];
  rows.forEach((row, a) =>
    row.forEach((v, p) => {
      const t = v / max;
      const shade = (lo: number, hi: number): number => Math.round(lo + (hi - lo) * t);
      const fill = `rgb(${shade(247, 8)},${shade(251, 48)},${shade(255, 107)})`;
      const x = left + p * cell;
      const y = top + a * cell;
      const label = normalize ? v.toFixed(2) : String(v);
      body.push(
        `<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${fill}" stroke="#ccc"/>`,
        `<text x="${x + cell / 2}" y="${y + cell / 2}" text-anchor="middle" ` +
          `dominant-baseline="central" font-size="${font}" fill="${t > 0.5 ? "white" : "black"}">` +
          `${label}</text>`,
      );
    })
  );
  interp.classes.forEach((c, i) => {
    const y = top + i * cell + cell / 2;
    const x = left + i * cell + cell / 2;
    body.push(
      `<text x="${left - 6}" y="${y}" text-anchor="end" dominant-baseline="central" ` +
        `font-size="12">${esc(c)}</text>`,
      slanted
        ? `<text transform="translate(${x},${top + n * cell + 8}) rotate(45)" font-size="12">` +
          `${esc(c)}</text>`
        : `<text x="${x}" y="${top + n * cell + 16}" text-anchor="middle" font-size="12">` +
          `${esc(c)}</text>`,
    );
  });
  body.push(
    `<text transform="translate(16,${top + (n * cell) / 2}) rotate(-90)" text-anchor="middle" ` +
      `font-size="13">Actual</text>`,
    `<text x="${left + (n * cell) / 2}" y="${height - 8}" text-anchor="middle" ` +
      `font-size="13">Predicted</text>`,
  );
  return _svg(width, height, body);
}

/** Options of {@linkcode plotTopLosses}. */
export interface PlotTopLossesOptions {
  /** Pictures per row. @default {3} */
  readonly columns?: number;
  /** Width of each picture in pixels (images are scaled, pixels kept sharp). @default {128} */
  readonly size?: number;
}

/** An image input `[H, W]`, `[H, W, 1]` or `[H, W, 3]` as a PNG data URI (min–max scaled). */
function _imageUri(input: NonNullable<TopLoss["input"]>): string | undefined {
  const [h, w, c = 1] = input.shape;
  if (input.shape.length < 2 || input.shape.length > 3 || (c !== 1 && c !== 3)) return undefined;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of input.values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const span = hi > lo ? hi - lo : 1;
  const pixels = Uint8Array.from(input.values, (v) => Math.round(((v - lo) / span) * 255));
  return `data:image/png;base64,${_base64(_png(pixels, w!, h!, c as 1 | 3))}`;
}

/**
 * The highest losses as a grid (fastai's `plot_top_losses`): each sample's input as an
 * image when it is one (`[H, W]`, `[H, W, 1]` or `[H, W, 3]`, min–max scaled), titled
 * "predicted / actual / loss / probability".
 *
 * @param interp What {@linkcode interpret} returned.
 * @param options Grid columns and picture size.
 * @returns The picture.
 *
 * @example A grid of one 2 × 2 image
 * ```ts
 * import { plotTopLosses } from "@fitloop/fitloop/callbacks";
 * import { assertStringIncludes } from "@std/assert";
 * const svg = plotTopLosses({
 *   classes: ["a", "b"], confusion: [], mostConfused: [], nSamples: 1,
 *   topLosses: [{ index: 0, loss: 2.5, actual: 1, predicted: 0, probability: 0.9,
 *     input: { shape: [2, 2], values: new Float32Array([0, 1, 1, 0]) } }],
 * }).svg;
 * assertStringIncludes(svg, "data:image/png;base64,");
 * assertStringIncludes(svg, "a / b / 2.50 / 0.90");
 * ```
 */
export function plotTopLosses(interp: Interpretation, options: PlotTopLossesOptions = {}): SvgPlot {
  const columns = Math.max(1, Math.min(options.columns ?? 3, interp.topLosses.length || 1));
  const size = options.size ?? 128;
  const items = interp.topLosses.map((t) => {
    const uri = t.input ? _imageUri(t.input) : undefined;
    const [h = 1, w = 1] = t.input?.shape ?? [];
    return { t, uri, height: uri ? Math.round((size * h) / w) : 0 };
  });
  const rowsOf = Math.ceil(items.length / columns);
  const cellW = size + 24;
  const rowH = (r: number): number =>
    Math.max(...items.slice(r * columns, (r + 1) * columns).map((i) => i.height), 0) + 44;
  const width = columns * cellW;
  let height = 36;
  const tops: number[] = [];
  for (let r = 0; r < rowsOf; r++) {
    tops.push(height);
    height += rowH(r);
  }
  const body: string[] = [
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">` +
    `predicted / actual / loss / probability</text>`,
  ];
  items.forEach(({ t, uri, height: h }, i) => {
    const x = (i % columns) * cellW + 12;
    const y = tops[Math.floor(i / columns)]!;
    const name = (c: number): string => interp.classes[c] ?? String(c);
    body.push(
      `<text x="${x + size / 2}" y="${y + 14}" text-anchor="middle" font-size="11">` +
        `${esc(name(t.predicted))} / ${esc(name(t.actual))} / ${t.loss.toFixed(2)} / ` +
        `${t.probability.toFixed(2)}</text>`,
    );
    if (uri) {
      body.push(
        `<image x="${x}" y="${y + 22}" width="${size}" height="${h}" preserveAspectRatio="none" ` +
          `style="image-rendering:pixelated" href="${uri}" xlink:href="${uri}"/>`,
      );
    } else {
      body.push(
        `<text x="${x + size / 2}" y="${y + 32}" text-anchor="middle" font-size="10" ` +
          `fill="#666">sample ${t.index}</text>`,
      );
    }
  });
  return _svg(width, height, body);
}
