// How the loop reads a data source for one epoch: `batches()` cut with a seeded order,
// plain (async) iterables of [x, y] (the caller's tensors) and tf.data.Datasets (the loop's
// tensors), with the resume point skipped.
import * as tf from "@tensorflow/tfjs";
import type { Batch, Batches, DatasetLike, DataSource } from "./data.ts";
import { permutation, weightedDraws } from "./_rng.ts";
import type { Input, Tensor } from "./types.ts";
import { show } from "./_options.ts";

/** One batch in hand, with whether the loop must dispose its tensors. */
export interface LoopBatch {
  readonly input: Input;
  readonly target: Tensor;
  readonly owned: boolean;
}

function _isBatches(source: DataSource): source is Batches {
  return (source as Batches).kind === "batches";
}

function _isDataset(source: DataSource): source is DatasetLike {
  return typeof (source as DatasetLike).iterator === "function" && "size" in source;
}

/** Batches per epoch of a source, when it can tell without iterating. */
export function sourceLength(source: DataSource): number | undefined {
  if (_isBatches(source)) return source.length;
  if (Array.isArray(source)) return source.length;
  if (_isDataset(source)) {
    const size = source.size;
    return typeof size === "number" && Number.isFinite(size) ? size : undefined;
  }
  return undefined;
}

function _unpack(batch: Batch, owned: boolean): LoopBatch {
  const isPair = Array.isArray(batch) && batch.length === 2;
  const isRecord = !Array.isArray(batch) && batch !== null && typeof batch === "object" &&
    "xs" in batch && "ys" in batch;
  if (!isPair && !isRecord) {
    throw new TypeError(
      `Cannot train on a batch as it must be [x, y] or { xs, ys } (tensors, the batch as first ` +
        `dimension; for a tf.data.Dataset: zip({ xs, ys }) then .batch(n)): current value is ${
          show(batch)
        }`,
    );
  }
  const pair = Array.isArray(batch)
    ? batch as readonly [Input, Tensor]
    : [(batch as { xs: Input }).xs, (batch as { ys: Tensor }).ys] as const;
  const [input, target] = pair;
  const tensors = target instanceof tf.Tensor &&
    (input instanceof tf.Tensor ||
      (Array.isArray(input) && input.length > 0 && input.every((t) => t instanceof tf.Tensor)));
  if (!tensors) {
    throw new TypeError(
      `Cannot train on a batch as its inputs and targets must be tensors: x is ${show(input)} ` +
        `and y is ${show(target)} (a tf.data.Dataset of plain values yields tensors only ` +
        `after .batch(n))`,
    );
  }
  const first = Array.isArray(input) ? input[0] : input;
  if (!first || !target || first.shape[0] !== target.shape[0]) {
    throw new RangeError(
      `Cannot train on a batch whose inputs and targets hold different numbers of samples: ` +
        `input has shape [${first?.shape ?? "none"}] and target has shape [${
          target?.shape ?? "none"
        }]${
          target?.rank === 0
            ? " (a batch has the samples as first dimension: is a tf.data.Dataset missing .batch(n)?)"
            : ""
        }`,
    );
  }
  return { input, target, owned };
}

/**
 * The batches of one epoch, as a sync iterator where the source is synchronous (no
 * per-batch await), else an async one.
 */
export function epochBatches(
  source: DataSource,
  epoch: number,
  seed = 0,
  skip = 0,
): Iterator<LoopBatch> | AsyncIterator<LoopBatch> {
  const it = _epochIterator(source, epoch, seed, skip);
  if (skip === 0 || _isBatches(source)) return it;
  // other sources: read and drop the batches before the resume point
  let skipped = 0;
  const drop = (b: LoopBatch): void => {
    if (b.owned) {
      for (const t of [...(Array.isArray(b.input) ? b.input : [b.input]), b.target]) t.dispose();
    }
  };
  return {
    next(): IteratorResult<LoopBatch> | Promise<IteratorResult<LoopBatch>> {
      if (skipped >= skip) return it.next();
      const step = async (): Promise<IteratorResult<LoopBatch>> => {
        while (skipped < skip) {
          const r = await it.next();
          if (r.done) return r;
          drop(r.value);
          skipped++;
        }
        return await it.next();
      };
      return step();
    },
  } as AsyncIterator<LoopBatch>;
}

function _epochIterator(
  source: DataSource,
  epoch: number,
  seed: number,
  skip: number,
): Iterator<LoopBatch> | AsyncIterator<LoopBatch> {
  if (source === null || (typeof source !== "object" && typeof source !== "function")) {
    throw new TypeError(
      "Cannot read batches as the data source must be batches(), a tf.data.Dataset or an " +
        `(async) iterable of [x, y]: current value is ${String(source)}`,
    );
  }
  if (_isBatches(source)) return _batchesIterator(source, epoch, source.seed ?? seed, skip);
  if (_isDataset(source)) return _datasetIterator(source);
  if (Symbol.iterator in source) {
    const it = (source as Iterable<Batch>)[Symbol.iterator]();
    return {
      next(): IteratorResult<LoopBatch> {
        const r = it.next();
        return r.done
          ? { done: true, value: undefined }
          : { done: false, value: _unpack(r.value, false) };
      },
    };
  }
  if (Symbol.asyncIterator in source) {
    const it = (source as AsyncIterable<Batch>)[Symbol.asyncIterator]();
    return {
      async next(): Promise<IteratorResult<LoopBatch>> {
        const r = await it.next();
        return r.done
          ? { done: true, value: undefined }
          : { done: false, value: _unpack(r.value, false) };
      },
    };
  }
  throw new TypeError(
    "Cannot read batches as the data source must be batches(), a tf.data.Dataset or an " +
      `(async) iterable of [x, y]: current value is ${Object.prototype.toString.call(source)}`,
  );
}

function _batchesIterator(
  b: Batches,
  epoch: number,
  seed: number,
  skip: number,
): Iterator<LoopBatch> {
  const total = b.weights ? b.samplesPerEpoch : b.nSamples;
  const order = b.weights
    ? weightedDraws(b.weights, total, seed, epoch)
    : b.shuffle
    ? permutation(b.nSamples, seed, epoch)
    : _identity(b.nSamples);
  let start = Math.min(total, skip * b.batchSize);
  return {
    next(): IteratorResult<LoopBatch> {
      if (start >= total) return { done: true, value: undefined };
      const end = Math.min(start + b.batchSize, total);
      const idx = tf.tensor1d(order.subarray(start, end), "int32");
      const input = tf.gather(b.x, idx);
      const target = tf.gather(b.y, idx);
      idx.dispose();
      start = end;
      return { done: false, value: { input, target, owned: true } };
    },
  };
}

function _identity(n: number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return order;
}

function _datasetIterator(ds: DatasetLike): AsyncIterator<LoopBatch> {
  let it: { next(): Promise<IteratorResult<unknown>> } | undefined;
  return {
    async next(): Promise<IteratorResult<LoopBatch>> {
      it ??= await ds.iterator();
      const r = await it.next();
      return r.done
        ? { done: true, value: undefined }
        : { done: false, value: _unpackOwned(r.value) };
    },
  };
}

/** A Dataset's element as a batch; the element's tensors are freed when it is not one. */
function _unpackOwned(element: unknown): LoopBatch {
  try {
    return _unpack(element as Batch, true);
  } catch (e) {
    tf.dispose(element as tf.TensorContainer);
    throw e;
  }
}
