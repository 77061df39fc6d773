/**
 * Training kernels for tfjs's WASM backend. tfjs-backend-wasm 4.22 lacks some gradients
 * (training a CNN there fails with "Kernel 'Conv2DBackpropFilter' not registered for
 * backend 'wasm'"), and several of the gradients it has are plain loops, copies, or
 * wrong. fitloop registers its own where they are missing and replaces tfjs's where
 * fitloop's are faster and at least as correct (checked against the cpu backend):
 *
 * | kernel | what fitloop's does | tfjs-wasm's |
 * |---|---|---|
 * | `Conv2DBackpropFilter` | XNNPACK convolution of the transposed input with the transposed output gradient | missing |
 * | `DepthwiseConv2dNativeBackpropFilter`, `…Input` | depthwise XNNPACK convolutions | missing |
 * | `UnsortedSegmentSum` (gradient of gather) | one loop | missing |
 * | `Conv2DBackpropInput` | one XNNPACK convolution of the stride-spread gradient with the flipped filter | plain loop |
 * | `MaxPoolGrad` | one pass, the cpu backend's first-strict-maximum rule | plain loop; last maximum on ties, windows with a maximum <= 0 lose their gradient |
 * | `BatchMatMul` | fitloop's SIMD GEMM: every transpose, broadcast batches | XNNPACK without transposes (batch 1), plain loop with any transposed operand |
 * | `_FusedMatMul` | the same GEMM, then the bias and activation | XNNPACK, then the bias and activation |
 * | `Sum` over leading axes (bias gradients) | column sums in float64 | transpose, then sum |
 * | `Identity`, `Cast` to the same dtype | share the data | copy |
 * | `Cast` to bool | `x != 0` | truncates (0.5 becomes false) |
 * | `OneHot` | writes the requested dtype | writes int32 bits into float32 outputs |
 *
 * Every kernel frees its intermediates. Cases a replacement does not cover or speed up
 * (for example an int32 matrix product) are handed to tfjs's original kernel.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { _keepOriginal, _tfjsKernel, type KernelArgs } from "./_wasm.ts";
import {
  conv2DBackpropFilter,
  conv2DBackpropInput,
  depthwiseBackpropFilter,
  depthwiseBackpropInput,
} from "./_conv_kernels.ts";
import { maxPoolGrad } from "./_pool_kernels.ts";
import { batchMatMul, fusedMatMul } from "./_matmul_kernel.ts";
import { cast, identity, oneHot, sum, unsortedSegmentSum } from "./_basic_kernels.ts";

type Func = (args: KernelArgs) => tf.TensorInfo;

/** Kernels tfjs-wasm 4.22 lacks, which fitloop adds. */
const ADDED: Record<string, Func> = {
  Conv2DBackpropFilter: conv2DBackpropFilter,
  DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilter,
  DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInput,
  UnsortedSegmentSum: unsortedSegmentSum,
};

/** Kernels tfjs-wasm has, which fitloop replaces (faster, and as correct or more). */
const REPLACED: Record<string, Func> = {
  Conv2DBackpropInput: conv2DBackpropInput,
  MaxPoolGrad: maxPoolGrad,
  BatchMatMul: batchMatMul,
  _FusedMatMul: fusedMatMul,
  Sum: sum,
  Identity: identity,
  Cast: cast,
  OneHot: oneHot,
};

/**
 * The kernels fitloop registers for the WASM backend, by name: first those tfjs-wasm
 * lacks, then those fitloop replaces.
 *
 * @example Both kinds are listed
 * ```ts
 * import { WASM_TRAINING_KERNELS } from "@fitloop/fitloop/backend";
 * import { assert } from "@std/assert";
 * assert(WASM_TRAINING_KERNELS.includes("Conv2DBackpropFilter")); // missing in tfjs-wasm
 * assert(WASM_TRAINING_KERNELS.includes("MaxPoolGrad")); // replaced
 * ```
 */
export const WASM_TRAINING_KERNELS: readonly string[] = Object.freeze([
  ...Object.keys(ADDED),
  ...Object.keys(REPLACED),
]);

/** Options of {@linkcode registerWasmTrainingKernels}. */
export interface RegisterWasmKernelsOptions {
  /**
   * Also replace kernels tfjs-wasm has (Conv2DBackpropInput, MaxPoolGrad, BatchMatMul,
   * _FusedMatMul, Sum, Identity, Cast, OneHot) by fitloop's; `false` only adds the missing ones. An
   * explicit choice sticks: later calls without it (`fit` makes one) keep to it.
   * @default {true, or the last explicit choice}
   */
  readonly replace?: boolean;
}

/** The last explicit `replace` (fit's calls without options keep to it). */
let _replaceChoice = true;

function _isOurs(name: string, func: Func): boolean {
  return tf.getKernel(name, "wasm")?.kernelFunc === (func as unknown as tf.KernelFunc);
}

function _register(name: string, func: Func): void {
  const original = tf.getKernel(name, "wasm");
  if (original) {
    _keepOriginal(name);
    tf.unregisterKernel(name, "wasm");
  }
  tf.registerKernel({
    kernelName: name,
    backendName: "wasm",
    kernelFunc: func as unknown as tf.KernelFunc,
    // tfjs runs setup functions when the backend starts: keep the original's (it binds
    // the WASM functions the replacement hands its other cases to)
    ...(original?.setupFunc
      ? {
        setupFunc: ((backend) => void _tfjsKernel(name).setupFunc?.(backend)) as NonNullable<
          tf.KernelConfig["setupFunc"]
        >,
      }
      : {}),
  });
}

/**
 * Registers fitloop's training kernels for the WASM backend: adds those tfjs-wasm lacks
 * and (unless `replace` is false) replaces those where fitloop's are faster and at
 * least as correct; `replace: false` also puts back tfjs's own where fitloop had
 * replaced them. Safe to call many times; `useBackend("wasm")` and `fit` on the WASM
 * backend call it for you.
 *
 * @param options Whether to replace tfjs's kernels or only add missing ones.
 * @returns The names of the kernels this call registered (empty when all were there).
 * @throws {TypeError} If `options.replace` is not a boolean.
 *
 * @example Registering twice registers nothing the second time
 * ```ts
 * import { registerWasmTrainingKernels } from "@fitloop/fitloop/backend";
 * import * as tf from "@tensorflow/tfjs";
 * import { assert, assertEquals } from "@std/assert";
 * registerWasmTrainingKernels();
 * assert(tf.getKernel("Conv2DBackpropFilter", "wasm") !== undefined);
 * assertEquals(registerWasmTrainingKernels(), []);
 * ```
 */
export function registerWasmTrainingKernels(options: RegisterWasmKernelsOptions = {}): string[] {
  if (options.replace !== undefined && typeof options.replace !== "boolean") {
    throw new TypeError(
      `Cannot register WASM kernels as 'options.replace' must be a boolean: current value is ${options.replace}`,
    );
  }
  if (options.replace !== undefined) _replaceChoice = options.replace;
  const replace = _replaceChoice;
  const added: string[] = [];
  for (const [name, func] of Object.entries(ADDED)) {
    if (tf.getKernel(name, "wasm")) continue;
    _register(name, func);
    added.push(name);
  }
  if (!replace) {
    // put tfjs's own back where fitloop had replaced them
    for (const [name, func] of Object.entries(REPLACED)) {
      if (!_isOurs(name, func)) continue;
      tf.unregisterKernel(name, "wasm");
      tf.registerKernel(_tfjsKernel(name));
    }
    return added;
  }
  for (const [name, func] of Object.entries(REPLACED)) {
    // nothing to replace before tfjs-backend-wasm is imported
    if (!tf.getKernel(name, "wasm") || _isOurs(name, func)) continue;
    _register(name, func);
    added.push(name);
  }
  return added;
}
