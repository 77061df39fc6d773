// Every common Layers type trains on WASM with fitloop's kernels exactly as on the cpu
// backend: the same seeded model, three SGD steps on each backend, losses and final
// weights compared (float32 tolerance). Covers the kernels in real gradient graphs
// (transposed matmuls in Dense/LSTM/GRU, bias sums, identities and casts everywhere,
// gather gradients in Embedding, pooling gradients, all convolution gradients).
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals } from "@std/assert";
import { useBackend } from "../../backend/use_backend.ts";
import { mulberry32 } from "../../core/_rng.ts";

const L = tf.layers;

interface Spec {
  readonly name: string;
  readonly input: number[];
  readonly layers: () => tf.layers.Layer[];
  readonly intInput?: number;
}

const SPECS: Spec[] = [
  { name: "Dense", input: [7], layers: () => [L.dense({ units: 5, activation: "relu" })] },
  { name: "Conv1D", input: [9, 3], layers: () => [L.conv1d({ filters: 4, kernelSize: 3 })] },
  {
    name: "Conv2D (stride 2, same) and MaxPooling2D",
    input: [9, 8, 3],
    layers: () => [
      L.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: "same", activation: "relu" }),
      L.maxPooling2d({ poolSize: 2, padding: "same" }),
    ],
  },
  {
    name: "Conv2D and overlapping MaxPooling2D",
    input: [10, 10, 2],
    layers: () => [
      L.conv2d({ filters: 4, kernelSize: 3, activation: "relu" }),
      L.maxPooling2d({ poolSize: 3, strides: 2 }),
    ],
  },
  {
    name: "Conv2DTranspose",
    input: [5, 5, 3],
    layers: () => [L.conv2dTranspose({ filters: 4, kernelSize: 3, strides: 2, padding: "same" })],
  },
  {
    name: "DepthwiseConv2D",
    input: [8, 8, 3],
    layers: () => [L.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2 })],
  },
  {
    name: "SeparableConv2D",
    input: [8, 8, 3],
    layers: () => [L.separableConv2d({ filters: 4, kernelSize: 3, padding: "same" })],
  },
  {
    name: "AveragePooling2D and GlobalAveragePooling2D",
    input: [8, 8, 4],
    layers: () => [
      L.conv2d({ filters: 4, kernelSize: 1 }),
      L.averagePooling2d({ poolSize: 2 }),
      L.globalAveragePooling2d({}),
    ],
  },
  {
    name: "UpSampling2D",
    input: [4, 4, 2],
    layers: () => [L.upSampling2d({ size: [2, 2] }), L.conv2d({ filters: 3, kernelSize: 3 })],
  },
  {
    name: "BatchNormalization",
    input: [6, 6, 3],
    layers: () => [L.conv2d({ filters: 4, kernelSize: 3 }), L.batchNormalization()],
  },
  {
    name: "LayerNormalization",
    input: [6],
    layers: () => [L.dense({ units: 8 }), L.layerNormalization()],
  },
  { name: "LSTM", input: [5, 3], layers: () => [L.lstm({ units: 4 })] },
  { name: "GRU", input: [5, 3], layers: () => [L.gru({ units: 4 })] },
  {
    name: "Embedding",
    input: [6],
    intInput: 11,
    layers: () => [L.embedding({ inputDim: 11, outputDim: 4 })],
  },
];

function values(n: number, seed: number, scale: number): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale);
}

/** Three SGD steps of the spec's model on the active backend: losses, final weights. */
async function train(spec: Spec): Promise<{ losses: number[]; weights: Float32Array[] }> {
  const model = tf.sequential({
    layers: [
      L.inputLayer({ inputShape: spec.input, dtype: spec.intInput ? "int32" : "float32" }),
      ...spec.layers(),
    ],
  });
  if (model.outputs[0]!.shape.length > 2) model.add(L.flatten());
  model.add(L.dense({ units: 3 }));
  model.setWeights(
    model.getWeights().map((w, i) => tf.tensor(values(w.size, 10 + i, 0.5), w.shape)),
  );
  const n = 6;
  const size = spec.input.reduce((a, b) => a * b);
  const x = spec.intInput
    ? tf.tensor(
      Int32Array.from(values(n * size, 3, 1), (v) => Math.floor((v + 1) / 2 * spec.intInput!)),
      [n, ...spec.input],
      "int32",
    )
    : tf.tensor(values(n * size, 3, 1), [n, ...spec.input]);
  const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2], "int32"), 3);
  const opt = tf.train.sgd(0.1);
  const before = tf.memory().numTensors;
  const losses: number[] = [];
  for (let s = 0; s < 3; s++) {
    const loss = opt.minimize(
      () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor),
      true,
    )!;
    losses.push((await loss.data())[0]!);
    loss.dispose();
  }
  assert(tf.memory().numTensors <= before + 1, `${spec.name} leaks tensors`); // +1: SGD's lr
  const weights = await Promise.all(
    model.getWeights().map(async (w) => (await w.data()) as Float32Array),
  );
  tf.dispose([x, y]);
  opt.dispose();
  model.dispose();
  return { losses, weights };
}

for (const spec of SPECS) {
  Deno.test(`${spec.name} trains on WASM with fitloop's kernels as on cpu`, async () => {
    await useBackend("cpu");
    const ref = await train(spec);
    await useBackend("wasm");
    const got = await train(spec);
    await useBackend("cpu");
    const near = (a: number, b: number) => Math.abs(a - b) <= 2e-4 * Math.max(1, Math.abs(b));
    got.losses.forEach((v, i) =>
      assert(near(v, ref.losses[i]!), `loss ${i}: ${v} vs ${ref.losses[i]}`)
    );
    assertEquals(got.weights.length, ref.weights.length);
    got.weights.forEach((w, i) =>
      w.forEach((v, j) =>
        assert(near(v, ref.weights[i]![j]!), `weight ${i}[${j}]: ${v} vs ${ref.weights[i]![j]}`)
      )
    );
  });
}
