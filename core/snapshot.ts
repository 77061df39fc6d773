/**
 * Snapshots and exact resume. One state value already holds a run (counters, histories,
 * hyper-parameters, every callback's memory, the seed); a snapshot adds the model's
 * weights and the optimizer's moments, with a manifest of versions and checksums, written
 * under a temporary name and renamed so that a crash never leaves a half snapshot. `fit`
 * resumes from one (`{ resume: dir }`), mid-epoch included, and `fork` copies a run in
 * memory to try two continuations.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { loadWeightsInto, saveModelTo } from "./model_io.ts";
import { _alignSpecs, _modelVariables } from "./_weights.ts";
import { freezeTo } from "./freeze.ts";
import { type Learner, learner } from "./learner.ts";
import type { LearnerCore } from "./learner_core.ts";
import { frozenBy, trainableParams } from "./_params.ts";
import { emptyLog, isLog, logOf, logToArray } from "./log.ts";
import type { OptimizerState } from "../optim/optimizer.ts";
import { endBatch, type TrainState } from "./state.ts";
import { announce } from "./_snapshot_steps.ts";
import type { Tensor, Variable } from "./types.ts";

/**
 * The snapshot format's version; snapshots of another version are refused.
 *
 * @example
 * ```ts
 * import { SNAPSHOT_VERSION } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * assertEquals(SNAPSHOT_VERSION, 1);
 * ```
 */
export const SNAPSHOT_VERSION = 1;
const FORMAT = "fitloop-snapshot";
const FILES = ["state.json", "optimizer.json", "model/model.json", "model/weights.bin"] as const;

/** A snapshot's `manifest.json`. */
export interface SnapshotManifest {
  /** Always "fitloop-snapshot". */
  readonly format: string;
  /** {@linkcode SNAPSHOT_VERSION} when written. */
  readonly version: number;
  /** The tfjs version that wrote it. */
  readonly tfjs: string;
  /** The backend it was taken on. */
  readonly backend: string;
  /** When it was written (ISO 8601). */
  readonly created: string;
  /** SHA-256 (hex) of every file, by path inside the snapshot. */
  readonly files: Readonly<Record<string, string>>;
}

/** The state fields a snapshot keeps (tensors of the batch in hand and the loss function are not). */
const KEPT = [
  "nEpochs",
  "epoch",
  "iteration",
  "numBatch",
  "nBatches",
  "train",
  "smoothLoss",
  "smoother",
  "smoothLosses",
  "lastMetrics",
  "metricNames",
  "hypers",
  "stopEpoch",
  "stopTraining",
  "skipValidate",
  "memory",
  "seed",
] as const;

/**
 * The state to resume from: where the next training batch is. A state taken inside a
 * training batch (in onBatchEnd) points to the batch after it; a state after an epoch's
 * end (or after a fit) points to the start of the next epoch, unless a callback stopped
 * training in the middle of that epoch (timeLimit): then it points to the batch after the
 * last one run, so that a resumed run trains every batch the uninterrupted one would have.
 */
function _resumePoint(state: TrainState, inBatch: boolean): TrainState {
  if (inBatch) return endBatch(state);
  if (!state.train) {
    const cut = state.stopTraining && state.nBatches !== undefined &&
      state.numBatch < state.nBatches;
    return Object.freeze({
      ...state,
      epoch: cut ? state.epoch : state.epoch + 1,
      numBatch: cut ? state.numBatch : 0,
      train: true,
    });
  }
  return state;
}

async function _sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** JSON with tensors, logs and non-finite numbers encoded. */
async function _encode(value: unknown, where: string): Promise<string> {
  const tensors = new Map<Tensor, { dtype: string; shape: number[]; values: number[] }>();
  const visit = (v: unknown, path: string): void => {
    if (v instanceof tf.Tensor) {
      tensors.set(v, { dtype: v.dtype, shape: v.shape.slice(), values: [] });
    } else if (typeof v === "function") {
      throw new TypeError(
        `Cannot snapshot ${path}: it is a function (keep only data in callback memory)`,
      );
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => visit(x, `${path}[${i}]`));
    } else if (isLog(v)) {
      logToArray(v).forEach((x, i) => visit(x, `${path}[${i}]`));
    } else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) visit(x, `${path}.${k}`);
    }
  };
  visit(value, where);
  for (const [t, info] of tensors) info.values = Array.from(await t.data() as ArrayLike<number>);
  return JSON.stringify(value, (_key, v) => {
    if (v instanceof tf.Tensor) return { $tensor: tensors.get(v) };
    if (typeof v === "number" && !Number.isFinite(v)) return { $num: String(v) };
    if (isLog(v)) return { $log: logToArray(v) };
    return v;
  });
}

/** The inverse of {@linkcode _encode}; tensors are made anew. */
function _decode(text: string): unknown {
  return JSON.parse(text, (_key, v) => {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      if ("$num" in v) return Number(v.$num);
      if ("$log" in v) return logOf(v.$log);
      if ("$tensor" in v) {
        const t = v.$tensor as { dtype: tf.DataType; shape: number[]; values: number[] };
        return tf.tensor(t.values, t.shape, t.dtype);
      }
    }
    return v;
  });
}

function _disposeTensorsIn(value: unknown): void {
  if (value instanceof tf.Tensor) value.dispose();
  else if (Array.isArray(value)) value.forEach(_disposeTensorsIn);
  else if (value && typeof value === "object") Object.values(value).forEach(_disposeTensorsIn);
}

/** Options of {@linkcode snapshot}. */
export interface SnapshotOptions {
  /** The directory to write (replaced atomically if it exists). */
  readonly dir: string;
  /** The state is from inside a training batch (onBatchEnd): resume after that batch. @default {false} */
  readonly inBatch?: boolean;
}

/**
 * Writes a snapshot of a run: the model's weights, the optimizer's moments, the
 * serialisable training state (every callback's memory included, tensors too) and a
 * manifest with versions and a checksum per file. Everything is written to a temporary
 * directory that is then renamed over `dir`, so a crash leaves either the old snapshot
 * or the new one, never half of one. Needs file permissions.
 *
 * @param learn The learner (its model and optimizer state are saved).
 * @param result A fit's result, or a state (from a hook).
 * @param options Where to write.
 * @returns The manifest written.
 * @throws {TypeError} If a callback's memory holds a function.
 *
 * @example Snapshot after a fit, then continue from it
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { batches, disposeLearner, fit, learner, mse, snapshot } from "@fitloop/fitloop";
 * import { assertEquals } from "@std/assert";
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
 * const x = tf.ones([8, 1]);
 * const learn = learner({ model, data: { train: batches(x, x, { batchSize: 4 }) }, loss: mse });
 * const result = await fit(learn, 2);
 * const dir = await Deno.makeTempDir();
 * await snapshot(learn, result, { dir: `${dir}/snap` });
 * const more = await fit(learn, 4, { resume: `${dir}/snap` });
 * assertEquals(more.history.nBatches, [2, 2, 2, 2]);
 * disposeLearner(learn);
 * x.dispose();
 * model.dispose();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function snapshot(
  learn: LearnerCore,
  result: { readonly state: TrainState } | TrainState,
  options: SnapshotOptions,
): Promise<SnapshotManifest> {
  const state = "state" in result && "history" in result ? result.state : result as TrainState;
  const resume = _resumePoint(state, options.inBatch ?? false);
  const kept: Record<string, unknown> = {};
  for (const k of KEPT) kept[k] = resume[k];
  const stateJson = await _encode(kept, "the training state");
  // the moments of every variable, frozen ones included, in the model's stable order
  const vars = _modelVariables(learn.model);
  const slots = vars.map((v) => learn.optState?.slots[v.name] ?? []);
  const optimizerJson = JSON.stringify({
    optimizer: learn.optimizer.name,
    step: learn.optState?.step ?? 0,
    variables: "all",
    steps: vars.map((v) => learn.optState?.steps?.[v.name] ?? null),
    slots: await Promise.all(
      slots.map((list) =>
        Promise.all(list.map(async (v) => ({ shape: v.shape, values: Array.from(await v.data()) })))
      ),
    ),
  });
  const dir = options.dir.replace(/\/+$/, "");
  const tmp = `${dir}.tmp-${crypto.randomUUID()}`;
  const encoder = new TextEncoder();
  const write = async (path: string, bytes: Uint8Array): Promise<void> => {
    await announce("write", path, bytes);
    await Deno.writeFile(path, bytes);
  };
  try {
    await announce("mkdir", tmp);
    await Deno.mkdir(tmp, { recursive: true });
    await write(`${tmp}/state.json`, encoder.encode(stateJson));
    await write(`${tmp}/optimizer.json`, encoder.encode(optimizerJson));
    await announce("model", `${tmp}/model`);
    await saveModelTo(learn.model, `${tmp}/model`);
    const files: Record<string, string> = {};
    for (const f of FILES) files[f] = await _sha256(await Deno.readFile(`${tmp}/${f}`));
    const manifest: SnapshotManifest = {
      format: FORMAT,
      version: SNAPSHOT_VERSION,
      tfjs: tf.version.tfjs,
      backend: tf.getBackend(),
      created: new Date().toISOString(),
      files,
    };
    await write(`${tmp}/manifest.json`, encoder.encode(JSON.stringify(manifest, null, 2)));
    let old: string | undefined;
    try {
      await Deno.stat(dir);
      old = `${dir}.old-${crypto.randomUUID()}`;
      await announce("rename", old);
      await Deno.rename(dir, old);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    await announce("rename", dir);
    await Deno.rename(tmp, dir);
    if (old) {
      await announce("remove", old);
      await Deno.remove(old, { recursive: true });
    }
    return manifest;
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
}

/**
 * Checks a snapshot and loads it into the learner: verifies the manifest (format and
 * version), that every file is there with its checksum, and that the weights and the
 * optimizer state fit the learner's model, all before anything changes; then puts the
 * weights and optimizer state in place and returns the state to resume from.
 *
 * @param learn The learner to load into.
 * @param dir The snapshot directory.
 * @returns The training state, pointing at the next batch to run.
 * @throws {Error} If the snapshot is missing, of another version, incomplete, corrupt or
 * does not fit the model; the message says which, and the learner is unchanged.
 *
 * @example A directory that is no snapshot is refused
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { learner, loadSnapshot, mse } from "@fitloop/fitloop";
 * import { assertRejects } from "@std/assert";
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
 * const learn = learner({ model, data: { train: [] }, loss: mse });
 * const dir = await Deno.makeTempDir();
 * await assertRejects(() => loadSnapshot(learn, dir), Error, "manifest.json is missing");
 * model.dispose();
 * await Deno.remove(dir);
 * ```
 */
export async function loadSnapshot(learn: LearnerCore, dir: string): Promise<TrainState> {
  const refuse = (why: string): never => {
    throw new Error(`Cannot resume from snapshot '${dir}': ${why}`);
  };
  let manifest: SnapshotManifest;
  try {
    manifest = JSON.parse(await Deno.readTextFile(`${dir}/manifest.json`));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return refuse("manifest.json is missing (not a snapshot, or its write never finished)");
    }
    return refuse(`manifest.json is unreadable (${e instanceof Error ? e.message : e})`);
  }
  if (manifest.format !== FORMAT || manifest.version !== SNAPSHOT_VERSION) {
    refuse(
      `it is format '${manifest.format}' version ${manifest.version}; this fitloop reads '${FORMAT}' version ${SNAPSHOT_VERSION}`,
    );
  }
  const bytes: Record<string, Uint8Array> = {};
  for (const f of FILES) {
    const expected = manifest.files?.[f];
    if (!expected) refuse(`the manifest lists no checksum for ${f}`);
    try {
      bytes[f] = await Deno.readFile(`${dir}/${f}`);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) refuse(`${f} is missing`);
      throw e;
    }
    const actual = await _sha256(bytes[f]!);
    if (actual !== expected) {
      refuse(`${f} is corrupt: its SHA-256 is ${actual}, the manifest says ${expected}`);
    }
  }
  const decoder = new TextDecoder();
  const modelJson = JSON.parse(decoder.decode(bytes["model/model.json"]));
  const specs = _alignSpecs(
    learn.model,
    (modelJson.weightsManifest as { weights: { name: string; shape: number[] }[] }[]).flatMap((g) =>
      g.weights
    ),
  );
  const vars: Variable[] = _modelVariables(learn.model);
  if (
    specs.length !== vars.length ||
    specs.some((s, i) => !tf.util.arraysEqual(s.shape, vars[i]!.shape))
  ) {
    refuse(
      `its weights (${specs.length} tensors) do not fit this model (${vars.length} tensors, or other shapes)`,
    );
  }
  const opt = JSON.parse(decoder.decode(bytes["optimizer.json"])) as {
    optimizer: string;
    step: number;
    variables?: "all";
    steps?: (number | null)[];
    slots: { shape: number[]; values: number[] }[][];
  };
  // slots of every model variable (or, in older snapshots, of the trainable ones)
  const owners = opt.variables === "all"
    ? vars
    : trainableParams(learn).params.map((p) => p.variable);
  if (opt.optimizer !== learn.optimizer.name) {
    refuse(`its optimizer is '${opt.optimizer}' and the learner's is '${learn.optimizer.name}'`);
  }
  if (opt.slots.length !== owners.length) {
    refuse(
      `its optimizer state covers ${opt.slots.length} parameters and the model has ${owners.length}`,
    );
  }
  const decoded = _decode(decoder.decode(bytes["state.json"])) as Partial<TrainState>;
  // Everything is checked: now change the learner.
  await loadWeightsInto(learn.model, `${dir}/model`);
  const slots: Record<string, Variable[]> = {};
  const steps: Record<string, number> = {};
  owners.forEach((owner, i) => {
    const list = opt.slots[i]!;
    const own = opt.steps?.[i];
    if (typeof own === "number") steps[owner.name] = own;
    if (list.length === 0) return;
    slots[owner.name] = list.map((s, k) =>
      tf.tidy(() =>
        tf.variable(
          tf.tensor(s.values, s.shape),
          false,
          `${owner.name}/resumed_${k}_${crypto.randomUUID()}`,
        )
      )
    );
  });
  if (learn.optState) {
    for (const list of Object.values(learn.optState.slots)) for (const v of list) v.dispose();
  }
  learn.optState = { step: opt.step, slots, steps } satisfies OptimizerState;
  return _asState(decoded, learn);
}

function _asState(kept: Partial<TrainState>, learn: LearnerCore): TrainState {
  return {
    nEpochs: kept.nEpochs ?? 1,
    epoch: kept.epoch ?? 0,
    iteration: kept.iteration ?? 0,
    numBatch: kept.numBatch ?? 0,
    nBatches: kept.nBatches,
    train: kept.train ?? true,
    lastInput: undefined,
    lastTarget: undefined,
    lastOutput: undefined,
    lastLoss: undefined,
    lastCaptures: {},
    smoothLoss: kept.smoothLoss ?? NaN,
    smoother: kept.smoother ?? { movAvg: 0, n: 0, value: NaN },
    smoothLosses: kept.smoothLosses ?? emptyLog(),
    lastMetrics: kept.lastMetrics ?? [],
    metricNames: kept.metricNames ?? ["validLoss"],
    hypers: kept.hypers ?? [],
    grads: undefined,
    loss: learn.loss,
    stopEpoch: kept.stopEpoch ?? false,
    stopTraining: kept.stopTraining ?? false,
    skipBackward: false,
    skipStep: false,
    skipZero: false,
    skipValidate: kept.skipValidate ?? false,
    memory: kept.memory ?? {},
    error: undefined,
    seed: kept.seed ?? 0,
  };
}

/** What {@linkcode fork} returns: a learner of its own and the state to resume from. */
export interface Fork {
  /** A learner with a copy of the model and of the optimizer state (data and config shared). */
  readonly learner: Learner;
  /** The state to pass as `fit(fork.learner, epochs, { resume: fork.state })`. */
  readonly state: TrainState;
  /** Frees the copied model and optimizer state. */
  dispose(): void;
}

/**
 * An independent in-process copy of a run: the model (weights, batch statistics) and the
 * optimizer state are copied into a new learner, the state (every callback's memory,
 * tensors included) is copied; the data and configuration are shared. Continue it with
 * `fit(fork.learner, epochs, { resume: fork.state })`, as many times as you like, without
 * touching disk or the original. Works for LayersModels (a hand-written model's forward
 * function cannot be pointed at copied variables).
 *
 * @param learn The learner of the run.
 * @param result The run's result (or state).
 * @returns The fork.
 * @throws {TypeError} If the model is not a LayersModel.
 *
 * @example Two continuations from one point
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { batches, disposeLearner, fit, fork, learner, mse } from "@fitloop/fitloop";
 * import { assertNotEquals } from "@std/assert";
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
 * const x = tf.linspace(0, 1, 8).reshape([8, 1]);
 * const learn = learner({ model, data: { train: batches(x, x.mul(2), { batchSize: 4 }) }, loss: mse });
 * const base = await fit(learn, 1);
 * const a = await fork(learn, base);
 * const b = await fork(learn, base);
 * await fit(a.learner, 3, { lr: 1e-1, resume: a.state });
 * await fit(b.learner, 3, { lr: 1e-4, resume: b.state });
 * const wa = await (a.learner.model as tf.LayersModel).getWeights()[0]!.data();
 * const wb = await (b.learner.model as tf.LayersModel).getWeights()[0]!.data();
 * assertNotEquals(wa, wb);
 * a.dispose();
 * b.dispose();
 * disposeLearner(learn);
 * x.dispose();
 * model.dispose();
 * ```
 */
export async function fork(
  learn: Learner,
  result: { readonly state: TrainState } | TrainState,
): Promise<Fork> {
  const model = learn.model;
  if (!(model instanceof tf.LayersModel)) {
    throw new TypeError("Cannot fork a hand-written model: fork copies LayersModels only");
  }
  const state = "state" in result && "history" in result ? result.state : result as TrainState;
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler((a) => {
    artifacts = a;
    return Promise.resolve({ modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) });
  }));
  const copy = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
  const copied = learner({
    model: copy,
    data: learn.data,
    loss: learn.loss,
    metrics: learn.metrics,
    callbacks: learn.callbacks,
    optimizer: learn.optimizer,
    lr: learn.lr,
    wd: learn.wd,
    trueWd: learn.trueWd,
    bnWd: learn.bnWd,
    noDecay: learn.noDecay,
    ...(learn.layerGroups && !Array.isArray(learn.layerGroups)
      ? { layerGroups: learn.layerGroups }
      : {}),
  });
  // the copy's variables, position by position in the stable order
  const from = _modelVariables(model);
  const to = _modelVariables(copy);
  if (Array.isArray(learn.layerGroups)) {
    // groups given as variables: the copy's variables, grouped as the original's
    const index = new Map(from.map((v, i) => [v.name, i]));
    (copied as { layerGroups: unknown }).layerGroups = (learn.layerGroups as Variable[][]).map(
      (list) => list.map((v) => to[index.get(v.name)!]!),
    );
  }
  // the copy trains what the original trains (frozen groups stay frozen)
  const frozen = frozenBy(learn.model);
  if (frozen) freezeTo(copied, frozen.n, frozen.options);
  if (learn.optState) {
    const slots: Record<string, Variable[]> = {};
    const steps: Record<string, number> = {};
    from.forEach((v, i) => {
      const target = to[i]!.name;
      const own = learn.optState!.steps?.[v.name];
      if (own !== undefined) steps[target] = own;
      const list = learn.optState!.slots[v.name];
      if (!list) return;
      slots[target] = list.map((s, k) =>
        tf.variable(tf.clone(s), false, `${target}/fork_${k}_${crypto.randomUUID()}`)
      );
    });
    copied.optState = { step: learn.optState.step, slots, steps };
  }
  const memory = _decode(
    await _encode(state.memory, "the callbacks' memory"),
  ) as TrainState["memory"];
  const forkedState: TrainState = { ..._resumePoint(state, false), memory };
  return {
    learner: copied,
    state: forkedState,
    dispose(): void {
      if (copied.optState) {
        for (const list of Object.values(copied.optState.slots)) {
          for (const v of list) v.dispose();
        }
      }
      copied.optState = undefined;
      _disposeTensorsIn(memory);
      copy.dispose();
    },
  };
}
