/**
 * Training data: `batches()` cuts tensors or typed arrays into (optionally shuffled)
 * batches; `fit` also takes any re-iterable (async) iterable of `[x, y]` pairs or a
 * `tf.data.Dataset`.
 *
 * Ownership: batches made by `batches()` and batches yielded by a `tf.data.Dataset` are
 * disposed by the loop when their batch ends (as `model.fitDataset` does). Tensors
 * yielded by a plain iterable stay the caller's: the loop never disposes them, so an
 * array of pre-made batches can be iterated every epoch.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Input, Tensor } from "./types.ts";
import { checkOptions, show } from "./_options.ts";

/** A typed array accepted as data. */
export type NumericArray = Float32Array | Int32Array | Uint8Array;

/** Options of {@linkcode batches}. */
export interface BatchesOptions {
  /** Samples per batch; the last batch of an epoch may be smaller. @default {32} */
  readonly batchSize?: number;
  /** Visit the samples in a new seeded random order every epoch. @default {false} */
  readonly shuffle?: boolean;
  /** Seed of the shuffle: the same seed gives the same orders. @default {the fit's seed} */
  readonly seed?: number;
  /**
   * Sampling weights, one per sample (oversampling, as fastai's OverSamplingCallback):
   * each epoch draws `samplesPerEpoch` samples with replacement, sample `i` with
   * probability `weights[i] / sum(weights)`, from the seed and the epoch (runs repeat and
   * resume exactly); `shuffle` is then moot. See {@linkcode balancedWeights}.
   * @default {undefined}
   */
  readonly weights?: ArrayLike<number>;
  /** Samples drawn per epoch with `weights`. @default {the number of samples} */
  readonly samplesPerEpoch?: number;
  /** Shape of `x` when it is a typed array. @default {[n, x.length / n]} */
  readonly xShape?: readonly number[];
  /** Shape of `y` when it is a typed array. @default {[n]} */
  readonly yShape?: readonly number[];
}

/** Batches of a dataset held in memory, made by {@linkcode batches}. */
export interface Batches {
  /** Marks the record as made by `batches()`. */
  readonly kind: "batches";
  /** All inputs (first dimension: samples). */
  readonly x: Tensor;
  /** All targets (first dimension: samples). */
  readonly y: Tensor;
  /** Samples per batch. */
  readonly batchSize: number;
  /** Whether each epoch visits the samples in a new random order. */
  readonly shuffle: boolean;
  /** Shuffle seed (undefined: the fit's seed). */
  readonly seed: number | undefined;
  /** Number of samples. */
  readonly nSamples: number;
  /** Sampling weights (a copy), or undefined when every sample is visited once an epoch. */
  readonly weights: Float64Array | undefined;
  /** Samples per epoch: drawn with `weights`, else `nSamples`. */
  readonly samplesPerEpoch: number;
  /** Number of batches per epoch. */
  readonly length: number;
  /** Frees `x` and `y` if `batches()` made them from typed arrays (a no-op otherwise). */
  dispose(): void;
}

/** One batch as a source yields it: `[x, y]`, or `{ xs, ys }` as for `model.fitDataset`. */
export type Batch = readonly [Input, Tensor] | { readonly xs: Input; readonly ys: Tensor };

/**
 * A `tf.data.Dataset` of batches (structurally, to keep tfjs types out of signatures): each
 * element a whole {@linkcode Batch}, `{ xs, ys }` or `[x, y]` with the batch as first
 * dimension (checked as elements arrive, since tfjs types them as any tensor container).
 */
export interface DatasetLike {
  /** Number of elements, when known. */
  readonly size: number | null;
  /** A fresh iterator over the elements. */
  iterator(): Promise<{ next(): Promise<IteratorResult<unknown>> }>;
}

/** Anything `fit` can take batches from. */
export type DataSource = Batches | DatasetLike | Iterable<Batch> | AsyncIterable<Batch>;

/** Training data and (optionally) validation data. */
export interface DataBunch {
  /** Training batches. */
  readonly train: DataSource;
  /** Validation batches. @default {undefined} */
  readonly valid?: DataSource;
}

function _isTyped(v: unknown): v is NumericArray {
  return v instanceof Float32Array || v instanceof Int32Array || v instanceof Uint8Array;
}

/** Numbers nested in arrays (`number[]`, `number[][]`, …), as JavaScript data often is. */
export type NestedNumbers = readonly number[] | readonly NestedNumbers[];

/** What {@linkcode batches} accepts for inputs and targets. */
export type ArrayData = Tensor | NumericArray | NestedNumbers;

/** A tensor from plain arrays (rectangular, numbers only). */
function _fromArrays(v: NestedNumbers, name: string): Tensor {
  const shape: number[] = [];
  for (let level: unknown = v; Array.isArray(level); level = level[0]) shape.push(level.length);
  const check = (a: unknown, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (typeof a !== "number") {
        throw new TypeError(
          `Cannot make batches as '${path}' must be a number: current value is ${show(a)}`,
        );
      }
      return;
    }
    if (!Array.isArray(a) || a.length !== shape[depth]) {
      throw new RangeError(
        `Cannot make batches as '${name}' must be rectangular: '${path}' has ${
          Array.isArray(a) ? `length ${a.length}` : `no length (${show(a)})`
        } where '${name}' has shape [${shape}]`,
      );
    }
    for (let i = 0; i < a.length; i++) check(a[i], depth + 1, `${path}[${i}]`);
  };
  check(v, 0, name);
  return tf.tensor(v as number[], shape, "float32");
}

function _toTensor(v: ArrayData, name: string, shape: readonly number[] | undefined, n: number): {
  tensor: Tensor;
  made: boolean;
} {
  if (v instanceof tf.Tensor) return { tensor: v, made: false };
  if (_isTyped(v)) {
    const dims = shape ?? (name === "x" ? [n, v.length / n] : [v.length]);
    return {
      tensor: tf.tensor(v, dims.slice(), v instanceof Float32Array ? "float32" : "int32"),
      made: true,
    };
  }
  if (Array.isArray(v)) {
    const t = _fromArrays(v, name);
    if (shape === undefined) return { tensor: t, made: true };
    try {
      return { tensor: tf.tidy(() => tf.reshape(t, shape.slice())), made: true };
    } finally {
      t.dispose();
    }
  }
  throw new TypeError(
    `Cannot make batches as '${name}' must be a tensor, a typed array or an array of numbers ` +
      `(number[], number[][], …): current value is ${show(v)}`,
  );
}

function _samples(v: ArrayData, shape: readonly number[] | undefined): number | undefined {
  if (shape?.[0] !== undefined) return shape[0];
  if (v instanceof tf.Tensor) return v.shape[0];
  if (_isTyped(v) || Array.isArray(v)) return v.length;
  return undefined;
}

const BATCHES_OPTIONS = [
  "batchSize",
  "shuffle",
  "seed",
  "weights",
  "samplesPerEpoch",
  "xShape",
  "yShape",
];

/**
 * Cuts a dataset held in memory into batches, shuffled (seeded) or in order; the last
 * partial batch is kept. Batches are taken with `tf.gather` (on WASM `tf.slice` copies
 * the whole source on every call).
 *
 * @param x Inputs: a tensor, a typed array (`xShape`, or `[n, x.length / n]`), or plain
 * arrays of numbers (`number[][]`, any depth; float32).
 * @param y Targets: a tensor, a typed array (`yShape`, or `[n]`), or plain arrays of
 * numbers (`number[]` of class labels or values; float32).
 * @param options Batch size, shuffling and shapes.
 * @returns The batches; call `dispose()` when done if you passed arrays (the tensors made
 * from them are the batches' own).
 * @throws {TypeError} If an option is unknown, or `x`/`y` is none of the accepted kinds or
 * holds something other than numbers.
 * @throws {RangeError} If `x` and `y` hold different numbers of samples, there are none,
 * plain arrays are not rectangular, or `batchSize` is not a positive integer.
 *
 * @example 10 samples in batches of 4
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { batches } from "@fitloop/fitloop";
 * import { assertEquals } from "@std/assert";
 * const b = batches(tf.zeros([10, 3]), tf.zeros([10]), { batchSize: 4 });
 * assertEquals([b.length, b.nSamples], [3, 10]);
 * b.x.dispose();
 * b.y.dispose();
 * ```
 *
 * @example From plain arrays
 * ```ts
 * import { batches } from "@fitloop/fitloop";
 * import { assertEquals } from "@std/assert";
 * const b = batches([[0, 1], [1, 0], [1, 1]], [1, 1, 0], { batchSize: 2 });
 * assertEquals([b.x.shape, b.y.shape, b.length], [[3, 2], [3], 2]);
 * b.dispose();
 * ```
 */
export function batches(
  x: ArrayData,
  y: ArrayData,
  options: BatchesOptions = {},
): Batches {
  checkOptions("make batches", options, BATCHES_OPTIONS);
  const { batchSize = 32, shuffle = false, seed } = options;
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) {
    throw new RangeError(
      `Cannot make batches as 'batchSize' must be a positive integer: current value is ${
        show(batchSize)
      }`,
    );
  }
  const nY = _samples(y, options.yShape) ?? 0;
  const made: Tensor[] = [];
  let xt: Tensor;
  let yt: Tensor;
  try {
    const a = _toTensor(x, "x", options.xShape, nY);
    if (a.made) made.push(a.tensor);
    const b = _toTensor(y, "y", options.yShape, nY);
    if (b.made) made.push(b.tensor);
    xt = a.tensor;
    yt = b.tensor;
  } catch (e) {
    tf.dispose(made);
    if (e instanceof TypeError || e instanceof RangeError) throw e;
    throw new RangeError(
      `Cannot make batches from these shapes: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
  const n = xt.shape[0] ?? 0;
  if (n !== yt.shape[0]) {
    const shapes = `x has shape [${xt.shape}] and y has shape [${yt.shape}]`;
    tf.dispose(made);
    throw new RangeError(
      `Cannot make batches as inputs and targets must hold the same number of samples: ${shapes}`,
    );
  }
  if (n === 0) {
    tf.dispose(made);
    throw new RangeError("Cannot make batches as the dataset is empty: x has 0 samples");
  }
  const madeX = xt !== x;
  const madeY = yt !== y;
  const fail = (error: Error): never => {
    if (madeX) xt.dispose();
    if (madeY) yt.dispose();
    throw error;
  };
  if (n === 0) fail(new RangeError("Cannot make batches as the dataset is empty: x has 0 samples"));
  const weights = options.weights === undefined ? undefined : Float64Array.from(options.weights);
  if (weights) {
    const bad = weights.findIndex((w) => !(Number.isFinite(w) && w >= 0));
    if (weights.length !== n || bad >= 0 || !weights.some((w) => w > 0)) {
      fail(
        new RangeError(
          `Cannot make batches as 'weights' must hold ${n} finite non-negative numbers, not all ` +
            `zero: current value has length ${weights.length}` +
            (bad >= 0 ? ` and weights[${bad}] = ${weights[bad]}` : ""),
        ),
      );
    }
  }
  const samplesPerEpoch = weights ? options.samplesPerEpoch ?? n : n;
  if (!(Number.isInteger(samplesPerEpoch) && samplesPerEpoch >= 1)) {
    fail(
      new RangeError(
        `Cannot make batches as 'samplesPerEpoch' must be a positive integer: current value is ${samplesPerEpoch}`,
      ),
    );
  }
  return {
    kind: "batches",
    x: xt,
    y: yt,
    batchSize,
    shuffle,
    seed,
    nSamples: n,
    weights,
    samplesPerEpoch,
    length: Math.ceil(samplesPerEpoch / batchSize),
    dispose(): void {
      if (madeX && !xt.isDisposed) xt.dispose();
      if (madeY && !yt.isDisposed) yt.dispose();
    },
  };
}

/**
 * Oversampling weights that balance classes (fastai's OverSamplingCallback): each sample
 * weighs `1 / count(its class)`, and an epoch draws `nClasses * max(count)` samples, so
 * each class is drawn as often, on average, as the largest one holds. Spread the result
 * into {@linkcode batches}'s options.
 *
 * @param labels Integer class labels, one per sample.
 * @returns `weights` and `samplesPerEpoch` for `batches()`.
 * @throws {RangeError} If `labels` is empty or holds a value that is not a non-negative integer.
 *
 * @example Three samples of class 0, one of class 1
 * ```ts
 * import { balancedWeights } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * const { weights, samplesPerEpoch } = balancedWeights([0, 0, 0, 1]);
 * assertEquals([...weights], [1 / 3, 1 / 3, 1 / 3, 1]);
 * assertEquals(samplesPerEpoch, 6);
 * ```
 */
export function balancedWeights(
  labels: ArrayLike<number>,
): { weights: Float64Array; samplesPerEpoch: number } {
  if (labels.length === 0) {
    throw new RangeError("Cannot balance classes as 'labels' is empty: current length is 0");
  }
  const counts = new Map<number, number>();
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i]!;
    if (!(Number.isInteger(c) && c >= 0)) {
      throw new RangeError(
        `Cannot balance classes as 'labels' must hold non-negative integers: labels[${i}] is ${c}`,
      );
    }
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  const weights = Float64Array.from(labels, (c) => 1 / counts.get(c)!);
  return { weights, samplesPerEpoch: counts.size * Math.max(...counts.values()) };
}
