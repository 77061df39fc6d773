// Starting tfjs-backend-webgpu under Deno. tfjs 4.22 asks the adapter for its device in
// two ways Deno rejects:
//
// - it requests `['bgra8unorm-storage']` (an array inside requiredFeatures), which
//   Deno's WebIDL layer refuses with "requiredFeatures … can not be converted to a
//   enum";
// - it reads `adapter.info` after `requestDevice`, when Deno has already invalidated the
//   adapter ("The adapter cannot be reused, as a device creation has invalidated it").
//
// While tfjs starts the backend, fitloop hands it adapters that read their info before
// any device exists, pass on only the features the adapter reports (as plain strings),
// and, if the device still cannot be created with them, retry on a fresh adapter
// without optional features (tfjs trains without them).
import { _setBackend } from "./_set_backend.ts";

interface AdapterLike {
  readonly features: ReadonlySet<string>;
  readonly info?: unknown;
  requestAdapterInfo?(): Promise<unknown>;
  requestDevice(descriptor?: { requiredFeatures?: unknown[] }): Promise<unknown>;
}

interface GpuLike {
  requestAdapter(options?: unknown): Promise<AdapterLike | null>;
}

/** The features of `requested` that `adapter` reports, flattened to plain names. */
export function _supportedFeatures(requested: unknown, adapter: AdapterLike): string[] {
  const flat = Array.isArray(requested) ? requested.flat(Infinity) : [];
  const names = flat.filter((f): f is string => typeof f === "string");
  return [...new Set(names)].filter((f) => adapter.features.has(f));
}

function _readInfo(adapter: AdapterLike): unknown {
  try {
    return adapter.info;
  } catch {
    return undefined;
  }
}

/** `adapter` as tfjs may use it under Deno (see the module comment). */
function _guarded(adapter: AdapterLike, fresh: () => Promise<AdapterLike | null>): AdapterLike {
  const info = _readInfo(adapter) ??
    { vendor: "", architecture: "", device: "", description: "" };
  const requestDevice = async (descriptor: Record<string, unknown> = {}): Promise<unknown> => {
    const features = _supportedFeatures(descriptor.requiredFeatures, adapter);
    try {
      return await adapter.requestDevice({ ...descriptor, requiredFeatures: features });
    } catch (first) {
      if (features.length === 0) throw first;
      const again = await fresh();
      if (!again) throw first;
      return await again.requestDevice({ ...descriptor, requiredFeatures: [] });
    }
  };
  return new Proxy(adapter, {
    get(target, prop) {
      if (prop === "info") return info;
      if (prop === "requestAdapterInfo") return () => Promise.resolve(info);
      if (prop === "requestDevice") return requestDevice;
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
    has(target, prop) {
      return prop === "info" || Reflect.has(target, prop);
    },
  });
}

/**
 * Starts tfjs's webgpu backend with guarded adapters. Resolves to undefined when it is
 * active, else to why it is not.
 */
export async function _startWebgpu(): Promise<string | undefined> {
  const gpu = (globalThis.navigator as { gpu?: GpuLike } | undefined)?.gpu;
  if (!gpu) return "navigator.gpu is not available in this runtime";
  await import("@tensorflow/tfjs-backend-webgpu");
  const original = gpu.requestAdapter;
  const request = (options?: unknown) => original.call(gpu, options);
  Object.defineProperty(gpu, "requestAdapter", {
    configurable: true,
    writable: true,
    value: async (options?: unknown) => {
      const adapter = await request(options);
      return adapter ? _guarded(adapter, () => request(options)) : adapter;
    },
  });
  try {
    return await _setBackend("webgpu");
  } finally {
    // remove the own property: the prototype's method shows through again
    delete (gpu as { requestAdapter?: unknown }).requestAdapter;
    if (gpu.requestAdapter !== original) {
      Object.defineProperty(gpu, "requestAdapter", {
        configurable: true,
        writable: true,
        value: original,
      });
    }
  }
}
