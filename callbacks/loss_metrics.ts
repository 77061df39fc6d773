import * as tf from "@tensorflow/tfjs";
import type { Callback, StateUpdate } from "../core/callback.ts";
import type { TrainState } from "../core/state.ts";
import type { LossFn, Tensor } from "../core/types.ts";
import { memoryOf } from "../core/callback.ts";
import { _kept } from "./_kept.ts";

/** The memory of {@linkcode lossMetrics}: the epoch's sums, on the device. */
export interface LossMetricsMemory {
  /** Each part's batch mean times the batch size, summed over this epoch's validation batches. */
  readonly sums: Tensor | undefined;
  /** Validation samples summed so far. */
  readonly count: number;
}

const EMPTY: LossMetricsMemory = { sums: undefined, count: 0 };

/**
 * Reports the parts of a composite loss as metrics (fastai's LossMetrics): each part is
 * averaged over the validation set, weighted by batch size, and added to `lastMetrics`
 * under its name, so the history, the progress bar and the trackers see it. Sums stay on
 * the device; one read per epoch.
 *
 * @param parts The loss's parts by name, each `(output, target) => batch mean`.
 * @returns The callback.
 * @throws {TypeError} If `parts` is empty or a part is not a function.
 *
 * @example A loss made of MSE and L1
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { batches, disposeLearner, fit, learner } from "@fitloop/fitloop";
 * import { lossMetrics } from "@fitloop/fitloop/callbacks";
 * import { assertAlmostEquals, assertEquals } from "@std/assert";
 * const mse = (o: tf.Tensor, t: tf.Tensor) => tf.losses.meanSquaredError(t, o) as tf.Scalar;
 * const l1 = (o: tf.Tensor, t: tf.Tensor) => tf.losses.absoluteDifference(t, o) as tf.Scalar;
 * const x = tf.tensor2d([[1], [2], [3]]);
 * const y = tf.tensor2d([[0], [0], [0]]);
 * const w = tf.variable(tf.ones([1, 1]));
 * const model = { variables: [w], apply: (i: tf.Tensor) => tf.matMul(i, w) };
 * const learn = learner({
 *   model, data: { train: batches(x, y), valid: batches(x, y, { batchSize: 2 }) },
 *   loss: (o, t) => tf.add(mse(o, t), l1(o, t)) as tf.Scalar,
 * });
 * const { history } = await fit(learn, 1, { lr: 0, callbacks: [lossMetrics({ mse, l1 })] });
 * assertEquals(history.metricNames, ["mse", "l1"]);
 * assertAlmostEquals(history.metrics[0]![0]!, 14 / 3, 1e-5); // (1 + 4 + 9) / 3
 * assertAlmostEquals(history.metrics[0]![1]!, 2, 1e-6); // (1 + 2 + 3) / 3
 * disposeLearner(learn);
 * tf.dispose([x, y, w]);
 * ```
 */
export function lossMetrics(parts: Readonly<Record<string, LossFn>>): Callback {
  const names = Object.keys(parts ?? {});
  if (names.length === 0) {
    throw new TypeError(
      "Cannot create lossMetrics as 'parts' must name at least one loss: it is empty",
    );
  }
  for (const n of names) {
    if (typeof parts[n] !== "function") {
      throw new TypeError(
        `Cannot create lossMetrics as part '${n}' must be a function: current type is ${typeof parts[
          n
        ]}`,
      );
    }
  }
  const name = "lossMetrics";
  const fns = names.map((n) => parts[n]!);
  const kept = _kept();
  const release = (s: TrainState): void => kept.free([memoryOf(s, name, EMPTY).sums]);
  return {
    name,
    order: -20, // its metrics are in lastMetrics before loggers and trackers read them
    addsMetrics: names,
    onEpochBegin(s: TrainState): StateUpdate {
      release(s);
      return { memory: EMPTY };
    },
    onBatchEnd(s: TrainState): StateUpdate | void {
      if (s.train || !s.lastOutput || !s.lastTarget) return;
      const m = memoryOf(s, name, EMPTY);
      const out = s.lastOutput;
      const target = s.lastTarget;
      const size = target.shape[0] ?? 1;
      const sums = kept.keep(tf.tidy(() => {
        const row = tf.mul(tf.stack(fns.map((f) => f(out, target))), size);
        return m.sums ? tf.add(m.sums, row) : row;
      }));
      kept.free([m.sums]);
      return { memory: { sums, count: m.count + size } };
    },
    async onEpochEnd(s: TrainState): Promise<StateUpdate> {
      const m = memoryOf(s, name, EMPTY);
      let values = names.map(() => NaN);
      if (m.sums) {
        const totals = await m.sums.data();
        values = Array.from(totals, (v) => v / m.count);
        kept.free([m.sums]);
      }
      return {
        memory: EMPTY,
        lastMetrics: [...s.lastMetrics, ...values],
        metricNames: [...s.metricNames, ...names],
      };
    },
    onTrainEnd(s: TrainState): StateUpdate {
      release(s); // after an error mid-validation
      kept.freeAll();
      return { memory: EMPTY };
    },
  };
}
