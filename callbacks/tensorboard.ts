import * as tf from "@tensorflow/tfjs";
import type { Callback, FitContext, StateUpdate } from "../core/callback.ts";
import type { TrainState } from "../core/state.ts";
import type { Tensor } from "../core/types.ts";
import { memoryOf } from "../core/callback.ts";
import { _modelVariables } from "../core/_weights.ts";
import { _kept } from "./_kept.ts";
import { type _Event, _eventBytes, type _Histogram, _tfRecord, type _Value } from "./_tb_events.ts";

/** Options of {@linkcode tensorBoard}. */
export interface TensorBoardOptions {
  /** The run's directory (created if missing): point `tensorboard --logdir` at it or its parent. */
  readonly logDir: string;
  /** Also write a histogram of every weight variable after each epoch. @default {false} */
  readonly histograms?: boolean;
  /** Buckets of each histogram. @default {30} */
  readonly bins?: number;
  /**
   * Training losses are kept on the device and read, with the lr and momentum of their
   * batches, every this many batches (one read each time) and at each epoch's end.
   * @default {32}
   */
  readonly flushEvery?: number;
  /** The clock for the events' wall time, in milliseconds. @default {Date.now} */
  readonly now?: () => number;
}

/** The memory of {@linkcode tensorBoard}. */
export interface TensorBoardMemory {
  /** The event file being written. */
  readonly path: string;
  /** Training losses not written yet (scalars on the device, one per batch). */
  readonly losses: readonly Tensor[];
  /** Their batches: iteration, wall time (ms), lr and momentum of the last layer group. */
  readonly batches: readonly {
    readonly step: number;
    readonly time: number;
    readonly lr: number;
    readonly mom: number;
  }[];
}

const NAME = "tensorBoard";

/**
 * Writes a TensorBoard event file (what fastai v1's LearnerTensorboardWriter and Keras's
 * TensorBoard callback write; tfjs-node's writer does not load in Deno): per training
 * batch `train/loss`, `train/lr` and `train/mom` (last layer group), per epoch
 * `valid/loss` and `valid/<metric>` for every value in `lastMetrics` (metrics callbacks
 * added included), and with `histograms` one histogram per weight variable
 * (`weights/<name>`). Steps are training iterations. Losses stay on the device and are
 * read in groups (`flushEvery`); histograms are computed on the device (one read per
 * epoch). Records are appended as they are read, so a crash loses at most a group; a
 * resumed run appends to the same file. Needs `--allow-write`.
 *
 * @param options The run's directory, histograms, how often losses are read.
 * @returns The callback.
 * @throws {RangeError} If `flushEvery` or `bins` is not a positive integer.
 *
 * @example Log a short fit
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { batches, disposeLearner, fit, learner, mse } from "@fitloop/fitloop";
 * import { tensorBoard } from "@fitloop/fitloop/callbacks";
 * import { assertEquals } from "@std/assert";
 * const x = tf.ones([8, 1]);
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
 * const learn = learner({ model, data: { train: batches(x, x, { batchSize: 4 }) }, loss: mse });
 * const logDir = await Deno.makeTempDir();
 * await fit(learn, 2, { callbacks: [tensorBoard({ logDir })] });
 * const files = [...Deno.readDirSync(logDir)].map((f) => f.name);
 * assertEquals(files.length, 1);
 * assertEquals(files[0]!.startsWith("events.out.tfevents."), true);
 * disposeLearner(learn);
 * x.dispose();
 * model.dispose();
 * await Deno.remove(logDir, { recursive: true });
 * ```
 */
export function tensorBoard(options: TensorBoardOptions): Callback {
  const { logDir, histograms = false, bins = 30, flushEvery = 32 } = options;
  const now = options.now ?? (() => Date.now());
  for (const [key, v] of [["flushEvery", flushEvery], ["bins", bins]] as const) {
    if (!(Number.isInteger(v) && v >= 1)) {
      throw new RangeError(
        `Cannot create tensorBoard as '${key}' must be a positive integer: current value is ${v}`,
      );
    }
  }
  const initial: TensorBoardMemory = { path: "", losses: [], batches: [] };
  const kept = _kept();
  const mem = (s: TrainState): TensorBoardMemory => memoryOf(s, NAME, initial);
  const append = async (path: string, events: readonly _Event[]): Promise<void> => {
    const records = events.map((e) => _tfRecord(_eventBytes(e)));
    const bytes = new Uint8Array(records.reduce((n, r) => n + r.length, 0));
    let o = 0;
    for (const r of records) {
      bytes.set(r, o);
      o += r.length;
    }
    await Deno.writeFile(path, bytes, { append: true });
  };
  const flush = async (m: TensorBoardMemory): Promise<TensorBoardMemory> => {
    if (m.losses.length === 0) return m;
    const stacked = tf.stack(m.losses.slice());
    kept.free(m.losses);
    let values: ArrayLike<number>;
    try {
      values = await stacked.data();
    } finally {
      stacked.dispose();
    }
    const events = m.batches.map((b, i): _Event => ({
      wallTime: b.time / 1000,
      step: b.step,
      values: [
        { tag: "train/loss", simpleValue: values[i]! },
        { tag: "train/lr", simpleValue: b.lr },
        { tag: "train/mom", simpleValue: b.mom },
      ],
    }));
    await append(m.path, events);
    return { ...m, losses: [], batches: [] };
  };
  return {
    name: NAME,
    order: 1050, // after the callbacks that add metrics
    async onTrainBegin(): Promise<StateUpdate> {
      await Deno.mkdir(logDir, { recursive: true });
      const t = now();
      const path = `${logDir.replace(/\/+$/, "")}/events.out.tfevents.${Math.floor(t / 1000)}.` +
        `fitloop.${crypto.randomUUID().slice(0, 8)}`;
      await append(path, [{ wallTime: t / 1000, step: 0, fileVersion: "brain.Event:2" }]);
      return { memory: { ...initial, path } };
    },
    onBackwardEnd(s: TrainState): StateUpdate | void {
      if (!s.lastLoss) return;
      const m = mem(s);
      const h = s.hypers[s.hypers.length - 1];
      return {
        memory: {
          ...m,
          losses: [...m.losses, kept.keep(tf.clone(s.lastLoss))],
          batches: [
            ...m.batches,
            { step: s.iteration, time: now(), lr: h?.lr ?? NaN, mom: h?.mom ?? NaN },
          ],
        },
      };
    },
    async onBatchEnd(s: TrainState): Promise<StateUpdate | void> {
      const m = mem(s);
      if (s.train && m.losses.length >= flushEvery) return { memory: await flush(m) };
    },
    async onEpochEnd(s: TrainState, ctx: FitContext): Promise<StateUpdate> {
      const m = await flush(mem(s));
      const values: _Value[] = [];
      s.metricNames.forEach((name, i) => {
        const v = s.lastMetrics[i];
        if (v === undefined || Number.isNaN(v)) return;
        values.push({ tag: name === "validLoss" ? "valid/loss" : `valid/${name}`, simpleValue: v });
      });
      if (histograms && ctx.learner) values.push(...await _histograms(ctx.learner.model, bins));
      if (values.length > 0) {
        await append(m.path, [{ wallTime: now() / 1000, step: s.iteration, values }]);
      }
      return { memory: m };
    },
    async onTrainEnd(s: TrainState): Promise<StateUpdate> {
      const m = mem(s);
      if (s.error === undefined) return { memory: await flush(m) };
      kept.free(m.losses); // after an error: free the losses not written
      kept.freeAll();
      return { memory: { ...m, losses: [], batches: [] } };
    },
  };
}

/** A histogram of every weight variable, computed on the device and read at once. */
async function _histograms(
  model: Parameters<typeof _modelVariables>[0],
  bins: number,
): Promise<_Value[]> {
  const vars = _modelVariables(model);
  if (vars.length === 0) return [];
  const rows = tf.tidy(() =>
    tf.stack(vars.map((v) => {
      const flat = tf.reshape(tf.cast(v, "float32"), [-1]);
      const lo = tf.min(flat);
      const hi = tf.max(flat);
      const span = tf.maximum(tf.sub(hi, lo), 1e-30);
      const idx = tf.cast(
        tf.clipByValue(tf.floor(tf.mul(tf.div(tf.sub(flat, lo), span), bins)), 0, bins - 1),
        "int32",
      );
      const counts = tf.bincount(idx as tf.Tensor1D, [], bins);
      return tf.concat([
        tf.stack([lo, hi, tf.sum(flat), tf.sum(tf.square(flat))]),
        tf.cast(counts, "float32"),
      ]);
    }))
  );
  const data = await rows.data();
  rows.dispose();
  const width = 4 + bins;
  return vars.map((v, i): _Value => {
    const r = data.subarray(i * width, (i + 1) * width);
    const [min, max, sum, sumSquares] = [r[0]!, r[1]!, r[2]!, r[3]!];
    const step = (max - min) / bins;
    const histo: _Histogram = {
      min,
      max,
      num: v.size,
      sum,
      sumSquares,
      bucketLimit: Array.from(
        { length: bins },
        (_, b) => (b === bins - 1 ? max : min + step * (b + 1)),
      ),
      bucket: Array.from(r.subarray(4)),
    };
    return { tag: `weights/${v.name}`, histo };
  });
}
