// One trial of examples/sweep.ts, run in its own Worker: a small CNN on a slice of the
// MNIST digits, one-cycle training with the sweep's callbacks (reporting and pruning).
import {
  accuracy,
  batches,
  crossEntropy,
  disposeLearner,
  fitOneCycle,
  learner,
  useBackend,
} from "../mod.ts";
import type { TrialContext, TrialResult } from "../sweep/mod.ts";
import { mnistCnn } from "./mnist.ts";
import { loadMnist } from "./mnist_data.ts";

/** The parameters examples/sweep.ts searches. */
export interface SweepParams {
  readonly lr: number;
  readonly wd: number;
  readonly filters: number;
  readonly epochs: number;
  readonly samples: number;
}

export async function trial(p: SweepParams, ctx: TrialContext): Promise<TrialResult> {
  await useBackend("wasm");
  const data = loadMnist({ seed: 1, samples: p.samples });
  const train = batches(data.train.images, data.train.labels, {
    batchSize: 64,
    shuffle: true,
    seed: 1,
    xShape: [data.train.count, 28, 28, 1],
  });
  const valid = batches(data.valid.images, data.valid.labels, {
    batchSize: 500,
    xShape: [data.valid.count, 28, 28, 1],
  });
  const model = mnistCnn(1, p.filters);
  const learn = learner({
    model,
    data: { train, valid },
    loss: crossEntropy,
    metrics: [accuracy],
    wd: p.wd,
  });
  try {
    const result = await fitOneCycle(learn, p.epochs, { lrMax: p.lr, callbacks: ctx.callbacks });
    return { result, metric: "accuracy" };
  } finally {
    disposeLearner(learn);
    train.dispose();
    valid.dispose();
    model.dispose();
  }
}
