// The learner as the loop sees it: its forward pass, its regularisation losses and its
// trainable parameters grouped for the optimizer (freezing may change them between fits).
import * as tf from "@tensorflow/tfjs";
import type { LearnerCore } from "./learner_core.ts";
import type { Param } from "../optim/optimizer.ts";
import type {
  HandModel,
  Input,
  LayersModel,
  LayerSplit,
  Scalar,
  Tensor,
  Variable,
} from "./types.ts";

export function isLayersModel(model: unknown): model is LayersModel {
  return model instanceof tf.LayersModel;
}

export function isHandModel(model: unknown): model is HandModel {
  const m = model as HandModel | null;
  return !!m && typeof m.apply === "function" && Array.isArray(m.variables);
}

/** The model's forward pass. */
export function forward(learn: LearnerCore, input: Input, training: boolean): Tensor {
  const out = learn.model.apply(input as Tensor, { training });
  if (Array.isArray(out)) {
    throw new TypeError(
      `Cannot train a model with ${out.length} outputs: fitloop's loss takes one output tensor`,
    );
  }
  return out as Tensor;
}

/** The model's own regularisation losses (LayersModel kernel/bias regularizers), if any. */
export function regularization(learn: LearnerCore): Scalar | undefined {
  const model = learn.model;
  if (!isLayersModel(model)) return undefined;
  const losses = (model as unknown as { calculateLosses(): Scalar[] }).calculateLosses();
  return losses.length === 0 ? undefined : tf.addN(losses) as Scalar;
}

function _layerOf(model: LayersModel): Map<string, { index: number; norm: boolean }> {
  const map = new Map<string, { index: number; norm: boolean }>();
  model.layers.forEach((layer, index) => {
    const norm = /Normalization/.test(layer.getClassName());
    for (const w of layer.weights) map.set((w.read() as Variable).name, { index, norm });
  });
  return map;
}

/** The layer groups of a learner: how many, and the group of a variable (undefined: none). */
export function layerGroupsOf(
  learn: LearnerCore,
): { nGroups: number; groupOf: (v: Variable) => number | undefined } {
  const groups = learn.layerGroups;
  if (groups && Array.isArray(groups)) {
    const lists = groups as readonly (readonly Variable[])[];
    const index = new Map<string, number>();
    lists.forEach((list, g) => list.forEach((v) => index.set(v.name, g)));
    return { nGroups: lists.length, groupOf: (v) => index.get(v.name) };
  }
  const model = learn.model;
  if (groups && isLayersModel(model)) {
    const splitAt = (groups as LayerSplit).splitAt;
    const layers = _layerOf(model);
    return {
      nGroups: splitAt.length + 1,
      groupOf: (v) => {
        const index = layers.get(v.name)?.index ?? 0;
        let g = 0;
        while (g < splitAt.length && index >= splitAt[g]!) g++;
        return g;
      },
    };
  }
  return { nGroups: 1, groupOf: () => 0 };
}

/** How a model was last frozen (`freezeTo(learn, n, options)`), and how many times. */
export interface FreezeRecord {
  readonly version: number;
  readonly n: number;
  readonly options: Readonly<Record<string, unknown>>;
}

const _freezes = new WeakMap<object, FreezeRecord>();

/** How many times the model's trainability was changed by freezing (0: never). */
export function freezeVersion(model: object): number {
  return _freezes.get(model)?.version ?? 0;
}

/** The model's last freezing, if any. */
export function frozenBy(model: object): FreezeRecord | undefined {
  return _freezes.get(model);
}

/** Records a freezing (fit re-reads the trainable variables at its next batch). */
export function recordFreeze(
  model: object,
  n: number,
  options: Readonly<Record<string, unknown>>,
): void {
  _freezes.set(model, { version: freezeVersion(model) + 1, n, options });
}

/** The trainable parameters now (freezing may change them between fits), with groups. */
export function trainableParams(learn: LearnerCore): { params: Param[]; nGroups: number } {
  const model = learn.model;
  const { nGroups, groupOf } = layerGroupsOf(learn);
  let variables: Variable[];
  let decays: (v: Variable) => boolean = () => true;
  if (isLayersModel(model)) {
    variables = model.trainableWeights.map((w) => w.read() as Variable);
    if (!learn.bnWd) {
      const layers = _layerOf(model);
      decays = (v) => !(layers.get(v.name)?.norm ?? false) && !/bias$/.test(v.name);
    }
  } else {
    variables = model.variables.filter((v) => v.trainable);
    if (!learn.bnWd) decays = (v) => !learn.noDecay(v);
  }
  variables = variables.filter((v) => groupOf(v) !== undefined);
  if (variables.length === 0) {
    throw new RangeError("Cannot fit as the model has no trainable variables: current count is 0");
  }
  const params = variables.map((variable) => ({
    variable,
    group: groupOf(variable)!,
    decay: decays(variable),
  }));
  return { params, nGroups };
}
