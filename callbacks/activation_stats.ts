import * as tf from "@tensorflow/tfjs";
import type { Callback, StateUpdate } from "../core/callback.ts";
import type { LearnerCore } from "../core/learner_core.ts";
import type { TrainState } from "../core/state.ts";
import type { Tensor } from "../core/types.ts";
import { appendLog, emptyLog, type Log, logToArray } from "../core/log.ts";
import { memoryOf } from "../core/callback.ts";
import { _figure, type SvgPlot } from "./_svg.ts";
import { _kept, type Kept } from "./_kept.ts";

/** Options of {@linkcode activationStats}. */
export interface ActivationStatsOptions {
  /**
   * The layers to watch: a LayersModel's layer names, or the names a hand-written model
   * reports with `options.capture(name, tensor)`. @default {every layer of a LayersModel}
   */
  readonly layers?: readonly string[];
  /** Record every `every`-th training batch. @default {1} */
  readonly every?: number;
}

/** The memory of {@linkcode activationStats}. */
export interface ActivationStatsMemory {
  /** The layers watched, in the order of the columns below. */
  readonly layers: readonly string[];
  /** The training iteration of each record. */
  readonly iterations: Log<number>;
  /** Per record, the mean of each layer's output. */
  readonly means: Log<readonly number[]>;
  /** Per record, the standard deviation of each layer's output. */
  readonly stds: Log<readonly number[]>;
  /** This epoch's records not read yet: `[layers, 2]` tensors on the device. */
  readonly pending: readonly Tensor[];
  /** Their iterations. */
  readonly pendingIterations: readonly number[];
}

const NAME = "activationStats";

function _empty(layers: readonly string[]): ActivationStatsMemory {
  return {
    layers,
    iterations: emptyLog(),
    means: emptyLog(),
    stds: emptyLog(),
    pending: [],
    pendingIterations: [],
  };
}

function _layersOf(learn: LearnerCore, asked: readonly string[] | undefined): readonly string[] {
  if (asked) return asked;
  const model = learn.model;
  if (model instanceof tf.LayersModel) return model.layers.map((l) => l.name);
  throw new TypeError(
    "Cannot watch the activations of a hand-written model without 'layers': name the " +
      "outputs its apply reports with options.capture(name, tensor)",
  );
}

/** Reads the pending records (one read) into the logs and frees them. */
async function _flush(m: ActivationStatsMemory, kept: Kept): Promise<ActivationStatsMemory> {
  if (m.pending.length === 0) return m;
  const stacked = tf.stack(m.pending.slice());
  kept.free(m.pending);
  const values = await stacked.data();
  stacked.dispose();
  const n = m.layers.length;
  let { iterations, means, stds } = m;
  m.pendingIterations.forEach((it, r) => {
    const row = values.subarray(r * n * 2, (r + 1) * n * 2);
    iterations = appendLog(iterations, it);
    means = appendLog(means, Array.from({ length: n }, (_, l) => row[2 * l]!));
    stds = appendLog(stds, Array.from({ length: n }, (_, l) => row[2 * l + 1]!));
  });
  return { ...m, iterations, means, stds, pending: [], pendingIterations: [] };
}

/**
 * Records the mean and standard deviation of each watched layer's output on training
 * batches (fastai's ActivationStats), from the training forward pass itself: it asks the
 * loop for the layers' outputs (`captures`) instead of running a second forward pass.
 * The statistics are computed on the device and kept there until the epoch ends, then
 * read at once (one read per epoch) into logs in the callback's memory. Read them with
 * `memoryOf(state, "activationStats", …)` or {@linkcode activationStatsOf}, and plot them
 * with {@linkcode plotActivationStats}.
 *
 * @param options Which layers, and how often.
 * @returns The callback.
 * @throws {RangeError} If `every` is not a positive integer.
 *
 * @example Two layers of an MLP over 4 batches
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { batches, disposeLearner, fit, learner, mse } from "@fitloop/fitloop";
 * import { activationStats, activationStatsOf } from "@fitloop/fitloop/callbacks";
 * import { assertEquals } from "@std/assert";
 * const model = tf.sequential({ layers: [
 *   tf.layers.dense({ units: 8, inputShape: [2], activation: "relu", name: "hidden" }),
 *   tf.layers.dense({ units: 1, name: "out" }),
 * ] });
 * const x = tf.randomNormal([32, 2], 0, 1, "float32", 1);
 * const learn = learner({ model, data: { train: batches(x, x.sum(1, true), { batchSize: 8 }) }, loss: mse });
 * const { state } = await fit(learn, 1, { callbacks: [activationStats()] });
 * const stats = activationStatsOf(state);
 * assertEquals([stats.layers, stats.iterations], [["hidden", "out"], [0, 1, 2, 3]]);
 * assertEquals(stats.stds[0]!.length, 2);
 * disposeLearner(learn);
 * x.dispose();
 * model.dispose();
 * ```
 */
export function activationStats(options: ActivationStatsOptions = {}): Callback {
  const every = options.every ?? 1;
  if (!(Number.isInteger(every) && every >= 1)) {
    throw new RangeError(
      `Cannot create activationStats as 'every' must be a positive integer: current value is ${every}`,
    );
  }
  let layers: readonly string[] = options.layers ?? [];
  const kept = _kept();
  const mem = (s: TrainState): ActivationStatsMemory => memoryOf(s, NAME, _empty(layers));
  return {
    name: NAME,
    captures(learn: LearnerCore): readonly string[] {
      layers = _layersOf(learn, options.layers);
      return layers;
    },
    onTrainBegin: (): StateUpdate => ({ memory: _empty(layers) }),
    onBatchEnd(s: TrainState): StateUpdate | void {
      if (!s.train || s.iteration % every !== 0) return;
      const m = mem(s);
      // by position: a resumed run's model may name its layers anew
      const outs = layers.map((l) => s.lastCaptures[l]);
      if (outs.length !== m.layers.length) {
        throw new RangeError(
          `Cannot record activations of ${outs.length} layers in a run that recorded ` +
            `${m.layers.length} (${m.layers.join(", ")})`,
        );
      }
      if (outs.length === 0 || outs.some((t) => t === undefined)) return; // a dry run
      const row = kept.keep(tf.tidy(() =>
        tf.stack(outs.map((t) => {
          const { mean, variance } = tf.moments(tf.cast(t!, "float32"));
          return tf.stack([mean, tf.sqrt(variance)]);
        }))
      ));
      return {
        memory: {
          ...m,
          pending: [...m.pending, row],
          pendingIterations: [...m.pendingIterations, s.iteration],
        },
      };
    },
    onEpochEnd: async (s: TrainState): Promise<StateUpdate> => ({
      memory: await _flush(mem(s), kept),
    }),
    async onTrainEnd(s: TrainState): Promise<StateUpdate> {
      const m = mem(s);
      if (s.error === undefined) return { memory: await _flush(m, kept) };
      kept.free(m.pending); // after an error: free what is pending, unread
      kept.freeAll();
      return { memory: { ...m, pending: [], pendingIterations: [] } };
    },
  };
}

/** Activation statistics as plain arrays (see {@linkcode activationStatsOf}). */
export interface ActivationStats {
  /** The layers watched. */
  readonly layers: string[];
  /** The training iteration of each record. */
  readonly iterations: number[];
  /** Per record, each layer's mean. */
  readonly means: number[][];
  /** Per record, each layer's standard deviation. */
  readonly stds: number[][];
}

/**
 * The activation statistics recorded in a run, as plain arrays.
 *
 * @param state A state after (or during) a fit with {@linkcode activationStats}.
 * @returns Layers, iterations, means and standard deviations (empty without records).
 *
 * @example Empty before training
 * ```ts
 * import { activationStatsOf } from "@fitloop/fitloop/callbacks";
 * import { initialState } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * const s = initialState({ nEpochs: 1, hypers: [], loss: () => { throw 0; } });
 * assertEquals(activationStatsOf(s).means, []);
 * ```
 */
export function activationStatsOf(state: TrainState): ActivationStats {
  const m = memoryOf(state, NAME, _empty([]));
  return {
    layers: m.layers.slice(),
    iterations: logToArray(m.iterations),
    means: logToArray(m.means).map((r) => r.slice()),
    stds: logToArray(m.stds).map((r) => r.slice()),
  };
}

/**
 * The mean and the standard deviation of each watched layer's activations against the
 * training iteration, in two panels, one line per layer.
 *
 * @param stats What {@linkcode activationStatsOf} returned.
 * @returns The picture.
 *
 * @example
 * ```ts
 * import { plotActivationStats } from "@fitloop/fitloop/callbacks";
 * import { assertStringIncludes } from "@std/assert";
 * const svg = plotActivationStats({
 *   layers: ["conv1", "conv2"],
 *   iterations: [0, 1],
 *   means: [[0.1, 0.3], [0.2, 0.4]],
 *   stds: [[1, 0.5], [0.9, 0.6]],
 * }).svg;
 * assertStringIncludes(svg, "Activation std");
 * assertStringIncludes(svg, "conv2"); // the legend names each layer
 * ```
 */
export function plotActivationStats(stats: ActivationStats): SvgPlot {
  const panel = (title: string, rows: number[][]) => ({
    title,
    xLabel: "iteration",
    yLabel: title.toLowerCase().replace("activation ", ""),
    series: stats.layers.map((layer, l) => ({
      x: stats.iterations,
      y: rows.map((r) => r[l] ?? NaN),
      label: layer,
      dots: stats.iterations.length < 2,
    })),
  });
  return _figure([panel("Activation mean", stats.means), panel("Activation std", stats.stds)]);
}
