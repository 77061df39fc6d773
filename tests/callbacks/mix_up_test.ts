// mixUp as fastai v1's MixUpCallback with stack_x=False, stack_y=True
// (fastai/callbacks/mixup.py): one lambda per sample, folded to max(l, 1 - l), each sample
// mixed with its partner by its own lambda, and MixUpLoss's
// (loss1 * lambda + loss2 * (1 - lambda)).mean(), checked against float64 hand computations.
import * as tf from "@tensorflow/tfjs";
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertNotEquals,
  assertRejects,
} from "@std/assert";
import type { Callback } from "../../core/callback.ts";
import { mixUp, type MixUpMemory } from "../../callbacks/mix_up.ts";
import { beta, mixSeed, mulberry32 } from "../../core/_rng.ts";
import { batches } from "../../core/data.ts";
import { fit } from "../../core/fit.ts";
import { disposeLearner, learner } from "../../core/learner.ts";
import { crossEntropy, crossEntropyPerSample, mse, msePerSample } from "../../core/losses.ts";
import type { LossFn } from "../../core/types.ts";
import { sgd } from "../../optim/sgd.ts";
import { mlp, useCpu } from "../_helpers.ts";

await useCpu();

/** What one training batch looked like, read back in float64. */
interface Seen {
  iteration: number;
  x: number[][]; // before mixing
  y: number[]; // labels (or regression targets)
  mixed: number[][];
  output: number[][];
  loss: number; // the loss the backward pass used
  memory: MixUpMemory;
}

const rows = async (t: tf.Tensor): Promise<number[][]> => (await t.array()) as number[][];

/** Runs a fit with mixUp and records every training batch. */
async function record(
  loss: LossFn,
  opts: { seed?: number; regression?: boolean; epochs?: number; mixSeed?: number } = {},
): Promise<Seen[]> {
  const n = 16;
  const x = tf.randomNormal([n, 2], 0, 1, "float32", 3);
  const y = opts.regression
    ? tf.tidy(() => tf.sum(x, 1, true))
    : tf.tidy(() => tf.cast(tf.greater(tf.sum(x, 1), 0), "int32"));
  const model = opts.regression
    ? tf.sequential({
      layers: [
        tf.layers.dense({
          units: 1,
          inputShape: [2],
          kernelInitializer: tf.initializers.glorotUniform({ seed: 6 }),
        }),
      ],
    })
    : mlp(5);
  const learn = learner({
    model,
    data: { train: batches(x, y, { batchSize: 8 }) },
    loss,
    optimizer: sgd(),
  });
  const seen: Seen[] = [];
  let pending: Partial<Seen> = {};
  const before: Callback = {
    name: "before",
    order: -1,
    onBatchBegin: async (s) => {
      if (!s.train) return;
      const yv = await s.lastTarget!.data();
      pending = {
        iteration: s.iteration,
        x: await rows(s.lastInput as tf.Tensor),
        y: Array.from(yv),
      };
    },
  };
  const after: Callback = {
    name: "after",
    order: 5,
    onBackwardEnd: async (s) => {
      seen.push({
        ...pending,
        mixed: await rows(s.lastInput as tf.Tensor),
        output: await rows(s.lastOutput!),
        loss: (await s.lastLoss!.data())[0]!,
        memory: s.memory.mixUp as MixUpMemory,
      } as Seen);
    },
  };
  const tensors = tf.memory().numTensors;
  await fit(learn, opts.epochs ?? 2, {
    lr: 0.1,
    seed: opts.seed ?? 0,
    callbacks: [mixUp(opts.mixSeed === undefined ? {} : { seed: opts.mixSeed }), before, after],
  });
  disposeLearner(learn);
  assertEquals(tf.memory().numTensors, tensors);
  tf.dispose([x, y]);
  model.dispose();
  return seen;
}

/** Float64 cross-entropy of logits `o` for class `c`: logsumexp(o) - o[c]. */
function ce(o: number[], c: number): number {
  const m = Math.max(...o);
  return m + Math.log(o.reduce((a, v) => a + Math.exp(v - m), 0)) - o[c]!;
}

Deno.test("mixUp() draws one lambda per sample from Beta(alpha, alpha), folded to max(l, 1 - l)", async () => {
  const seen = await record(crossEntropy, { seed: 11 });
  assertEquals(seen.length, 4); // 2 epochs x 2 batches
  for (const b of seen) {
    // the run's seed and the iteration seed the draws (core/_rng.ts, tested there)
    const rand = mulberry32(mixSeed(11, b.iteration));
    const draws = b.y.map(() => beta(rand, 0.4, 0.4));
    assertEquals(b.memory.lambdas, draws.map((l) => Math.max(l, 1 - l)));
    assert(b.memory.lambdas.every((l) => l >= 0.5 && l <= 1));
    assert(draws.some((l) => l < 0.5), "some draws were folded"); // the folding was exercised
    assertEquals(new Set(b.memory.lambdas).size, 8); // one lambda per sample
    assertEquals([...b.memory.partners].sort(), [0, 1, 2, 3, 4, 5, 6, 7]);
  }
  // draws and pairings differ between batches and between epochs
  const [e0b0, e0b1, e1b0] = [seen[0]!.memory, seen[1]!.memory, seen[2]!.memory];
  assertNotEquals(e0b0.lambdas, e0b1.lambdas);
  assertNotEquals(e0b0.lambdas, e1b0.lambdas);
  assertNotEquals(e0b0.partners, e0b1.partners);
  assertNotEquals(e0b0.partners, e1b0.partners);
  // the same seed replays them (what a resumed run relies on); another seed does not
  const again = await record(crossEntropy, { seed: 11 });
  assertEquals(again.map((b) => b.memory), seen.map((b) => b.memory));
  const other = await record(crossEntropy, { seed: 11, mixSeed: 12 });
  assertNotEquals(other[0]!.memory.lambdas, seen[0]!.memory.lambdas);
});

Deno.test("mixUp() mixes each sample with its partner by its own lambda, and the loss is v1's MixUpLoss", async () => {
  const seen = await record(crossEntropy, { seed: 4 });
  for (const b of seen) {
    const { lambdas, partners } = b.memory;
    b.mixed.forEach((row, i) => {
      const l = Math.fround(lambdas[i]!); // a float32 tensor, as v1's last_input.new(lambd)
      row.forEach((v, j) => {
        const want = b.x[i]![j]! * l + b.x[partners[i]!]![j]! * (1 - l);
        assertAlmostEquals(v, want, 1e-6, `batch ${b.iteration}, sample ${i}, feature ${j}`);
      });
    });
    // v1: loss1 = crit(out, y), loss2 = crit(out, y[shuffle]) with reduction='none';
    // (loss1 * lambda + loss2 * (1 - lambda)).mean()
    const terms = b.output.map((o, i) => {
      const l = lambdas[i]!;
      return l * ce(o, b.y[i]!) + (1 - l) * ce(o, b.y[partners[i]!]!);
    });
    const want = terms.reduce((a, v) => a + v, 0) / terms.length;
    assertAlmostEquals(b.loss, want, 1e-5 * want, `loss of batch ${b.iteration}`);
  }
});

Deno.test("mixUp() with mse and with a loss it does not know: per sample, the same numbers", async () => {
  const builtIn = await record(mse, { seed: 8, regression: true, epochs: 1 });
  const custom = await record((o, t) => mse(o, t), { seed: 8, regression: true, epochs: 1 });
  for (const [i, b] of builtIn.entries()) {
    const { lambdas, partners } = b.memory;
    const terms = b.output.map((o, k) => {
      const l = lambdas[k]!;
      return l * (o[0]! - b.y[k]!) ** 2 + (1 - l) * (o[0]! - b.y[partners[k]!]!) ** 2;
    });
    const want = terms.reduce((a, v) => a + v, 0) / terms.length;
    assertAlmostEquals(b.loss, want, 1e-5 * want + 1e-7, `mse batch ${i}`);
    // the custom loss goes through one call per sample and must agree
    assertAlmostEquals(custom[i]!.loss, b.loss, 1e-6 * b.loss + 1e-7, `custom batch ${i}`);
  }
});

Deno.test("the per-sample losses average to the batch losses", async () => {
  const logits = tf.tensor2d([[2, 0, 0], [0, 1, 3], [1, 1, 1]]);
  const labels = tf.tensor1d([0, 2, 1], "int32");
  const ceItems = Array.from(await crossEntropyPerSample(logits, labels).data());
  assertAlmostEquals(ceItems[1]!, ce([0, 1, 3], 2), 1e-6);
  const mean = ceItems.reduce((a, v) => a + v, 0) / 3;
  assertAlmostEquals(mean, (await crossEntropy(logits, labels).data())[0]!, 1e-6);
  const out = tf.tensor2d([[1, 3], [2, 2], [0, 1]]);
  const target = tf.tensor2d([[0, 0], [2, 0], [0, 0]]);
  assertEquals(Array.from(await msePerSample(out, target).data()), [5, 2, 0.5]);
  assertAlmostEquals((await mse(out, target).data())[0]!, 7.5 / 3, 1e-6);
  tf.dispose([logits, labels, out, target]);
});

Deno.test("mixUp() refuses a per-sample loss of the wrong shape, naming it", async () => {
  const x = tf.ones([4, 2]);
  const y = tf.tensor1d([0, 1, 0, 1], "int32");
  const model = mlp(2);
  const learn = learner({
    model,
    data: { train: batches(x, y, { batchSize: 4 }) },
    loss: crossEntropy,
  });
  await assertRejects(
    () => fit(learn, 1, { callbacks: [mixUp({ lossPerSample: (o, t) => crossEntropy(o, t) })] }),
    TypeError,
    "the per-sample loss must have shape [4]: it returned shape []",
  );
  disposeLearner(learn);
  tf.dispose([x, y]);
  model.dispose();
});
