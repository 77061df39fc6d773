import * as tf from "@tensorflow/tfjs";
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertNotEquals,
  assertThrows,
} from "@std/assert";
import type { Callback } from "../../core/callback.ts";
import { batches } from "../../core/data.ts";
import { fit } from "../../core/fit.ts";
import { freeze, freezeTo, unfreeze } from "../../core/freeze.ts";
import { disposeLearner, type Learner, learner } from "../../core/learner.ts";
import { mse } from "../../core/losses.ts";
import { loadWeightsInto, saveModelTo } from "../../core/model_io.ts";
import { fork, loadSnapshot, snapshot } from "../../core/snapshot.ts";
import { _modelVariables, _restoreWeights, _snapshotWeights } from "../../core/_weights.ts";
import { adam } from "../../optim/adam.ts";
import { lrRange } from "../../optim/hypers.ts";
import { sgd } from "../../optim/sgd.ts";
import { useCpu } from "../_helpers.ts";

await useCpu();

/** body (dense) → bn → head (dense); groups: [body, bn] and [head]. */
function bnModel(seed = 1): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.dense({
        units: 6,
        inputShape: [3],
        name: `body${seed}`,
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
      }),
      tf.layers.batchNormalization({ name: `bn${seed}` }),
      tf.layers.dense({
        units: 1,
        name: `head${seed}`,
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
      }),
    ],
  });
}

function setup(seed = 1): { learn: Learner; model: tf.Sequential; dispose(): void } {
  const x = tf.randomNormal([24, 3], 0, 1, "float32", 5);
  const y = tf.tidy(() => tf.sum(tf.mul(x, tf.tensor1d([1, -2, 0.5])), 1, true));
  const model = bnModel(seed);
  const learn = learner({
    model,
    data: { train: batches(x, y, { batchSize: 8, shuffle: true, seed: 3 }) },
    loss: mse,
    optimizer: adam(),
    layerGroups: { splitAt: [2] },
  });
  return {
    learn,
    model,
    dispose: () => (disposeLearner(learn), tf.dispose([x, y]), model.dispose()),
  };
}

/** Every weight by its layer-relative name (e.g. "bn1/moving_mean"). */
async function weightsByName(model: tf.LayersModel): Promise<Record<string, Float32Array>> {
  const out: Record<string, Float32Array> = {};
  for (const w of model.weights) out[w.originalName] = (await w.read().data()) as Float32Array;
  return out;
}

const same = (a: Float32Array, b: Float32Array): boolean =>
  a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

Deno.test("freeze: the body is bit-identical after a fit, the head trains, BatchNorm trains by default", async () => {
  const run = setup();
  const before = await weightsByName(run.model);
  const tensors = tf.memory().numTensors;
  freeze(run.learn);
  assertEquals(run.model.trainableWeights.map((w) => w.originalName), [
    "bn1/gamma",
    "bn1/beta",
    "head1/kernel",
    "head1/bias",
  ]);
  await fit(run.learn, 2, { lr: 0.05 });
  const after = await weightsByName(run.model);
  for (const name of ["body1/kernel", "body1/bias"]) {
    assert(same(before[name]!, after[name]!), name);
  }
  for (const name of ["bn1/gamma", "bn1/beta", "bn1/moving_mean", "head1/kernel", "head1/bias"]) {
    assert(!same(before[name]!, after[name]!), `${name} should have changed`);
  }
  // only the trainable ones have moments: 4 variables x 2 slots
  assertEquals(tf.memory().numTensors, tensors + 8);
  run.dispose();
});

Deno.test("freeze with trainBn false: BatchNorm weights and statistics stay, and come back to life on unfreeze", async () => {
  const run = setup(2);
  const before = await weightsByName(run.model);
  freeze(run.learn, { trainBn: false });
  assertEquals(run.model.trainableWeights.map((w) => w.originalName), [
    "head2/kernel",
    "head2/bias",
  ]);
  // a frozen BatchNormalization normalises with its moving statistics, also in training
  const x = tf.randomNormal([5, 3], 3, 2, "float32", 9);
  const [train, infer] = [true, false].map((training) =>
    run.model.apply(x, { training }) as tf.Tensor
  );
  assertEquals(await train!.data(), await infer!.data());
  await fit(run.learn, 2, { lr: 0.05 });
  const after = await weightsByName(run.model);
  for (
    const name of [
      "body2/kernel",
      "body2/bias",
      "bn2/gamma",
      "bn2/beta",
      "bn2/moving_mean",
      "bn2/moving_variance",
    ]
  ) {
    assert(same(before[name]!, after[name]!), name);
  }
  unfreeze(run.learn);
  const [train2, infer2] = [true, false].map((training) =>
    run.model.apply(x, { training }) as tf.Tensor
  );
  assertNotEquals(await train2!.data(), await infer2!.data());
  await fit(run.learn, 1, { lr: 0.05 });
  const thawed = await weightsByName(run.model);
  for (const name of ["body2/kernel", "bn2/gamma", "bn2/moving_mean"]) {
    assert(!same(after[name]!, thawed[name]!), `${name} should have changed`);
  }
  tf.dispose([x, train!, infer!, train2!, infer2!]);
  run.dispose();
});

Deno.test("freeze on a hand-written model: variables of frozen groups stay; isNorm keeps a norm variable trainable", async () => {
  const body = tf.variable(tf.tensor2d([[0.5], [-0.25]]), true, "hand_body");
  const scale = tf.variable(tf.scalar(1), true, "hand_scale");
  const head = tf.variable(tf.scalar(2), true, "hand_head");
  const model = {
    variables: [body, scale, head],
    apply: (x: tf.Tensor | tf.Tensor[]) =>
      tf.mul(tf.mul(tf.matMul(x as tf.Tensor, body), scale), head),
  };
  const x = tf.tensor2d([[1, 2], [3, 4], [-1, 0]]);
  const y = tf.tensor2d([[1], [0], [2]]);
  const learn = learner({
    model,
    data: { train: batches(x, y) },
    loss: mse,
    optimizer: sgd(),
    layerGroups: [[body, scale], [head]],
  });
  freeze(learn, { isNorm: (v) => v.name === "hand_scale" });
  assertEquals([body.trainable, scale.trainable, head.trainable], [false, true, true]);
  const bodyBefore = await body.data();
  await fit(learn, 1, { lr: 0.01 });
  assertEquals(await body.data(), bodyBefore);
  // one SGD step on the head: x·body = [0, 0.5, -0.5], out = x·body * 1 * 2 = [0, 1, -1],
  // out - y = [-1, 1, -3]; dL/dhead = mean(2 (out - y) x·body) = (2/3)(0 + 0.5 + 1.5) = 4/3
  assertAlmostEquals(await head.data().then((d) => d[0]!), 2 - 0.01 * 4 / 3, 1e-6);
  freeze(learn, { trainBn: false, isNorm: (v) => v.name === "hand_scale" });
  assertEquals(scale.trainable, false);
  disposeLearner(learn);
  tf.dispose([body, scale, head, x, y]);
});

Deno.test("moments of frozen weights are kept, and each parameter counts its own steps", async () => {
  const run = setup(3);
  const bodyKernel = (run.model.layers[0]!.weights[0]!.read() as tf.Variable).name;
  const headKernel = (run.model.layers[2]!.weights[0]!.read() as tf.Variable).name;
  await fit(run.learn, 1, { lr: 0.01 }); // 3 batches, all trainable
  const slotsBefore = await Promise.all(
    run.learn.optState!.slots[bodyKernel]!.map((v) => v.data()),
  );
  assertEquals(run.learn.optState!.steps![bodyKernel], 3);
  freeze(run.learn);
  await fit(run.learn, 2, { lr: 0.01 });
  const slotsFrozen = await Promise.all(
    run.learn.optState!.slots[bodyKernel]!.map((v) => v.data()),
  );
  assertEquals(slotsFrozen, slotsBefore);
  assertEquals(
    [
      run.learn.optState!.steps![bodyKernel],
      run.learn.optState!.steps![headKernel],
      run.learn.optState!.step,
    ],
    [3, 9, 9],
  );
  unfreeze(run.learn);
  await fit(run.learn, 1, { lr: 0.01 });
  assertEquals([run.learn.optState!.steps![bodyKernel], run.learn.optState!.steps![headKernel]], [
    6,
    12,
  ]);
  run.dispose();
});

Deno.test("a parameter unfrozen late gets Adam's first-step bias correction (its own step 1)", async () => {
  // out = x * a * b with one sample x = 1, y = 0; body a, head b
  const a = tf.variable(tf.scalar(1), true, "late_a");
  const b = tf.variable(tf.scalar(0.5), true, "late_b");
  const model = {
    variables: [a, b],
    apply: (x: tf.Tensor | tf.Tensor[]) => tf.mul(tf.mul(x as tf.Tensor, a), b),
  };
  const x = tf.tensor2d([[1]]);
  const y = tf.tensor2d([[0]]);
  const learn = learner({
    model,
    data: { train: batches(x, y) },
    loss: mse,
    optimizer: adam(),
    layerGroups: [[a], [b]],
  });
  freeze(learn);
  await fit(learn, 6, { lr: 0.01 }); // 6 steps of the head alone
  unfreeze(learn);
  const bNow = (await b.data())[0]!;
  await fit(learn, 1, { lr: 0.01 });
  // dL/da = 2 (a b) b = 2 * bNow^2 with a = 1; Adam's step 1: -lr * g / (|g| + eps)
  const g = 2 * bNow * bNow;
  assertAlmostEquals((await a.data())[0]!, 1 - 0.01 * g / (g + 1e-7), 1e-6);
  disposeLearner(learn);
  tf.dispose([a, b, x, y]);
});

Deno.test("discriminative lrs (lrRange) with the first group frozen: one SGD step by hand", async () => {
  const [a, b, c] = ["lr_a", "lr_b", "lr_c"].map((n) => tf.variable(tf.scalar(1), true, n));
  const model = {
    variables: [a!, b!, c!],
    apply: (x: tf.Tensor | tf.Tensor[]) => tf.mul(x as tf.Tensor, tf.addN([a!, b!, c!])),
  };
  const x = tf.tensor2d([[1]]);
  const y = tf.tensor2d([[0]]);
  const learn = learner({
    model,
    data: { train: batches(x, y) },
    loss: mse,
    optimizer: sgd(),
    layerGroups: [[a!], [b!], [c!]],
  });
  freezeTo(learn, 1);
  const { state } = await fit(learn, 1, { lr: lrRange(0.01, 0.1) });
  assertEquals(state.hypers.length, 3);
  // out = 3, loss = 9, dL/dv = 2 * 3 = 6 for each; lrs 0.01, sqrt(0.001), 0.1
  const values = await Promise.all([a!, b!, c!].map((v) => v.data().then((d) => d[0]!)));
  assertEquals(values[0], 1);
  assertAlmostEquals(values[1]!, 1 - Math.sqrt(0.001) * 6, 1e-6);
  assertAlmostEquals(values[2]!, 1 - 0.1 * 6, 1e-6);
  disposeLearner(learn);
  tf.dispose([a!, b!, c!, x, y]);
});

Deno.test("freezing during a fit takes effect from the next batch", async () => {
  const run = setup(4);
  const freezer: Callback = {
    name: "freezer",
    onBatchEnd: (s, ctx) => {
      if (s.train && s.iteration === 0) freeze(ctx.learner!);
    },
  };
  let body: Float32Array | undefined;
  const watch: Callback = {
    name: "watch",
    order: 1,
    onBatchEnd: async (s, ctx) => {
      if (s.train && s.iteration === 0) {
        body = (await (ctx.learner!.model as tf.LayersModel).layers[0]!.weights[0]!.read()
          .data()) as Float32Array;
      }
    },
  };
  await fit(run.learn, 1, { lr: 0.05, callbacks: [freezer, watch] });
  const end = (await run.model.layers[0]!.weights[0]!.read().data()) as Float32Array;
  assert(body && same(body, end), "the body moved after it was frozen");
  run.dispose();
});

Deno.test("freezeTo refuses an n out of range, naming the groups", () => {
  const run = setup(5);
  assertThrows(
    () => freezeTo(run.learn, 3),
    RangeError,
    "'n' must be an integer from -2 to 2 (the learner has 2 layer groups): current value is 3",
  );
  assertThrows(() => freezeTo(run.learn, 0.5), RangeError, "current value is 0.5");
  run.dispose();
});

Deno.test("the weight order is stable under freezing: save frozen, load unfrozen; restore after a freeze", async () => {
  const run = setup(6);
  await fit(run.learn, 1, { lr: 0.05 }); // moving statistics differ from their initial values
  const saved = _snapshotWeights(run.model);
  freeze(run.learn, { trainBn: false });
  const dir = await Deno.makeTempDir();
  await saveModelTo(run.model, dir);
  const other = bnModel(6);
  await loadWeightsInto(other, dir);
  const a = await weightsByName(run.model);
  const b = await weightsByName(other);
  for (const name of Object.keys(a)) assert(same(a[name]!, b[name]!), name);
  // a copy taken before the freeze goes back to the right variables after it
  await fit(run.learn, 1, { lr: 0.5 });
  _restoreWeights(run.model, saved);
  const restored = await weightsByName(run.model);
  for (const name of Object.keys(a)) assert(same(a[name]!, restored[name]!), name);
  other.dispose();
  run.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("snapshots keep the moments of frozen weights; a resumed frozen run matches the uninterrupted one", async () => {
  const dir = await Deno.makeTempDir();
  const A = setup(7);
  await fit(A.learn, 1, { lr: 0.01 });
  freeze(A.learn);
  const mid = await fit(A.learn, 2, { lr: 0.01 });
  await snapshot(A.learn, mid, { dir: `${dir}/snap` });
  const names = _modelVariables(A.model).map((v) => v.name);
  const slotsA = await Promise.all(
    names.map((n) => Promise.all((A.learn.optState!.slots[n] ?? []).map((v) => v.data()))),
  );
  await fit(A.learn, 4, { lr: 0.01, resume: mid.state });

  const B = setup(7);
  freeze(B.learn);
  const state = await loadSnapshot(B.learn, `${dir}/snap`);
  const namesB = _modelVariables(B.model).map((v) => v.name);
  const slotsB = await Promise.all(
    namesB.map((n) => Promise.all((B.learn.optState!.slots[n] ?? []).map((v) => v.data()))),
  );
  assertEquals(slotsB, slotsA); // the body's moments (frozen) included
  assertEquals(slotsB[0]!.length, 2);
  assertEquals(B.learn.optState!.steps![namesB[0]!], 3);
  await fit(B.learn, 4, { lr: 0.01, resume: state });
  assertEquals(await weightsByName(B.model), await weightsByName(A.model));
  A.dispose();
  B.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("fork copies the freezing and every moment", async () => {
  const run = setup(8);
  await fit(run.learn, 1, { lr: 0.01 });
  freeze(run.learn, { trainBn: false });
  const result = await fit(run.learn, 1, { lr: 0.01 });
  const f = await fork(run.learn, result);
  assertEquals(
    (f.learner.model as tf.LayersModel).trainableWeights.length,
    run.model.trainableWeights.length,
  );
  assertEquals(Object.keys(f.learner.optState!.slots).length, 6); // body, bn, head: kernel/bias/gamma/beta
  f.dispose();
  run.dispose();
});

Deno.test("a frozen model saved and loaded into a model whose layers are named otherwise: by position, in the stable order", async () => {
  const make = () =>
    tf.sequential({
      layers: [
        tf.layers.dense({ units: 4, inputShape: [3] }),
        tf.layers.batchNormalization(),
        tf.layers.dense({ units: 4 }),
      ],
    });
  const a = make();
  const b = make(); // other automatic names: loading cannot go by name
  const x = tf.randomNormal([8, 3], 0, 1, "float32", 1);
  tf.tidy(() => void a.apply(x, { training: true })); // moving statistics away from 0 and 1
  for (const w of a.weights) {
    tf.tidy(() => void w.write(tf.randomNormal(w.shape as number[], 0, 1, "float32", w.id)));
  }
  const learn = learner({
    model: a,
    data: { train: [] },
    loss: mse,
    layerGroups: { splitAt: [2] },
  });
  freeze(learn, { trainBn: false }); // model.weights now lists the last dense layer first
  const dir = await Deno.makeTempDir();
  await saveModelTo(a, dir);
  await loadWeightsInto(b, dir);
  const [va, vb] = [_modelVariables(a), _modelVariables(b)];
  for (let i = 0; i < va.length; i++) {
    assertEquals(await vb[i]!.data(), await va[i]!.data(), `weight ${i}`);
  }
  a.dispose();
  b.dispose();
  x.dispose();
  await Deno.remove(dir, { recursive: true });
});
