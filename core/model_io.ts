import * as tf from "@tensorflow/tfjs";
import type { Model } from "./types.ts";
import type { LayersModel, Tensor } from "./types.ts";
import { _alignSpecs, _modelVariables } from "./_weights.ts";

const MODEL_JSON = "model.json";
const WEIGHTS_BIN = "weights.bin";

async function _writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.tmp-${crypto.randomUUID()}`;
  if (typeof data === "string") await Deno.writeTextFile(tmp, data);
  else await Deno.writeFile(tmp, data);
  await Deno.rename(tmp, path);
}

function _bytes(data: ArrayBuffer | ArrayBuffer[]): Uint8Array {
  return new Uint8Array(Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data);
}

/**
 * Saves a model to a directory with Deno's file API (tfjs's `file://` handler is
 * Node-only): `model.json` (topology for a LayersModel, and the weights manifest) and
 * `weights.bin`. Each file is written under a temporary name and renamed, so a crash
 * never leaves a half-written file. A hand-written model saves its variables only.
 * Needs `--allow-write`.
 *
 * @param model The model.
 * @param dir The directory (created if missing).
 * @returns When both files are written.
 *
 * @example A save and a reload
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { loadModelFrom, saveModelTo } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3] })] });
 * const dir = await Deno.makeTempDir();
 * await saveModelTo(model, dir);
 * const back = await loadModelFrom(dir);
 * assertEquals(await back.getWeights()[0]!.data(), await model.getWeights()[0]!.data());
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function saveModelTo(model: Model, dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const write = async (json: unknown, weights: Uint8Array): Promise<void> => {
    await _writeAtomic(`${dir}/${WEIGHTS_BIN}`, weights);
    await _writeAtomic(`${dir}/${MODEL_JSON}`, JSON.stringify(json));
  };
  if (model instanceof tf.LayersModel) {
    await model.save({
      save: async (artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> => {
        const { weightData, weightSpecs, ...rest } = artifacts;
        const { specs, bytes } = _stableOrder(
          model,
          weightSpecs ?? [],
          weightData ? _bytes(weightData) : new Uint8Array(),
        );
        await write(
          { ...rest, weightsManifest: [{ paths: [WEIGHTS_BIN], weights: specs }] },
          bytes,
        );
        return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
      },
    });
    return;
  }
  const named = _modelVariables(model).map((v) => ({ name: v.name, tensor: v as Tensor }));
  const { data, specs } = await tf.io.encodeWeights(named);
  await write(
    { format: "fitloop-variables", weightsManifest: [{ paths: [WEIGHTS_BIN], weights: specs }] },
    _bytes(data),
  );
}

const _DTYPE_BYTES: Readonly<Record<string, number>> = { float32: 4, int32: 4, bool: 1 };

/**
 * tfjs writes a LayersModel's weights in `model.weights` order, trainable ones first, which
 * changes when layers are frozen; the file holds them in the stable layer-by-layer order,
 * so that loading by position (hand-written names, other layer names) stays right.
 */
function _stableOrder(
  model: LayersModel,
  specs: tf.io.WeightsManifestEntry[],
  bytes: Uint8Array,
): { specs: tf.io.WeightsManifestEntry[]; bytes: Uint8Array } {
  const parts = new Map<string, { spec: tf.io.WeightsManifestEntry; data: Uint8Array }>();
  let offset = 0;
  for (const spec of specs) {
    const size = spec.shape.reduce((a, b) => a * b, 1) * (_DTYPE_BYTES[spec.dtype] ?? NaN);
    if (!Number.isFinite(size) || spec.quantization) return { specs, bytes }; // kept as tfjs wrote it
    parts.set(spec.name, { spec, data: bytes.subarray(offset, offset + size) });
    offset += size;
  }
  const order = _alignSpecs(model, specs).map((s) => parts.get(s.name)!);
  const out = new Uint8Array(bytes.length);
  let o = 0;
  for (const p of order) {
    out.set(p.data, o);
    o += p.data.length;
  }
  return { specs: order.map((p) => p.spec), bytes: out };
}

async function _read(
  dir: string,
): Promise<{ json: Record<string, unknown>; weights: ArrayBuffer }> {
  const json = JSON.parse(await Deno.readTextFile(`${dir}/${MODEL_JSON}`));
  const bytes = await Deno.readFile(`${dir}/${WEIGHTS_BIN}`);
  return {
    json,
    weights: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
  };
}

function _specs(json: Record<string, unknown>): tf.io.WeightsManifestEntry[] {
  const manifest = json.weightsManifest as { weights: tf.io.WeightsManifestEntry[] }[] | undefined;
  return manifest?.flatMap((g) => g.weights) ?? [];
}

/**
 * Loads a LayersModel saved by {@linkcode saveModelTo}. Needs `--allow-read`.
 *
 * @param dir The directory.
 * @returns The model.
 * @throws {TypeError} If the directory holds a hand-written model's variables only.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { loadModelFrom, saveModelTo } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
 * const dir = await Deno.makeTempDir();
 * await saveModelTo(model, dir);
 * assertEquals((await loadModelFrom(dir)).layers.length, 1);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadModelFrom(dir: string): Promise<LayersModel> {
  const { json, weights } = await _read(dir);
  if (!json.modelTopology) {
    throw new TypeError(
      `Cannot load a model from '${dir}': it holds variables only (use loadWeightsInto)`,
    );
  }
  return await tf.loadLayersModel({
    load: (): Promise<tf.io.ModelArtifacts> =>
      Promise.resolve({
        ...(json as tf.io.ModelArtifacts),
        weightSpecs: _specs(json),
        weightData: weights,
      }),
  });
}

/**
 * Loads weights saved by {@linkcode saveModelTo} into an existing model of the same
 * architecture (every weight, batch-norm statistics included: by name when every saved name
 * is one of the model's, else by position in the stable layer-by-layer order).
 *
 * @param model The model to fill.
 * @param dir The directory.
 * @returns When the weights are in place.
 * @throws {RangeError} If the counts or shapes differ.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { loadWeightsInto, saveModelTo } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * const a = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
 * const b = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
 * const dir = await Deno.makeTempDir();
 * await saveModelTo(a, dir);
 * await loadWeightsInto(b, dir);
 * assertEquals(await b.getWeights()[0]!.data(), await a.getWeights()[0]!.data());
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadWeightsInto(model: Model, dir: string): Promise<void> {
  const { json, weights } = await _read(dir);
  const saved = _specs(json);
  const vars = _modelVariables(model);
  const specs = _alignSpecs(model, saved);
  if (specs.length !== vars.length) {
    throw new RangeError(
      `Cannot load weights from '${dir}': it holds ${specs.length} weights and the model has ${vars.length}`,
    );
  }
  const decoded = tf.io.decodeWeights(weights, saved);
  const values = specs.map((s) => decoded[s.name]!);
  try {
    vars.forEach((v, i) => {
      if (!tf.util.arraysEqual(v.shape, values[i]!.shape)) {
        throw new RangeError(
          `Cannot load weights from '${dir}': weight ${i} has shape [${values[i]!.shape}] and ` +
            `the model's '${v.name}' has shape [${v.shape}]`,
        );
      }
    });
    vars.forEach((v, i) => v.assign(values[i]!));
  } finally {
    tf.dispose(Object.values(decoded));
  }
}
