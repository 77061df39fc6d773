// useBackend("webgpu") against adapters that behave like Deno's: a requiredFeatures entry
// that is not a plain feature name is a TypeError ("can not be converted to a enum"), a
// feature the adapter cannot give fails the request, and after a device is created the
// adapter is spent ("The adapter cannot be reused …"). The simulated adapter wraps
// Deno's real one (here a software adapter) and also reports a feature it cannot give,
// which makes tfjs-webgpu 4.22 ask for ['bgra8unorm-storage'] (an array).
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-webgpu";
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { useBackend } from "../../backend/use_backend.ts";
import { _supportedFeatures } from "../../backend/_webgpu.ts";

/** Feature names Deno's WebIDL layer knows (a subset is enough for the simulation). */
const KNOWN = new Set([
  "depth-clip-control",
  "depth32float-stencil8",
  "texture-compression-bc",
  "timestamp-query",
  "indirect-first-instance",
  "shader-f16",
  "bgra8unorm-storage",
  "float32-filterable",
]);

interface Counts {
  requests: number;
  devices: number;
  infoAfterDevice: number;
}

function strictAdapter(real: GPUAdapter, counts: Counts): unknown {
  let spent = false;
  const check = () => {
    if (spent) {
      counts.infoAfterDevice++;
      throw new Error("The adapter cannot be reused, as a device creation has invalidated it");
    }
  };
  const features = new Set([...real.features, "bgra8unorm-storage"]);
  return {
    get features() {
      check();
      return features;
    },
    get limits() {
      check();
      return real.limits;
    },
    get info() {
      check();
      return real.info;
    },
    async requestDevice(descriptor: GPUDeviceDescriptor = {}) {
      check();
      for (const f of (descriptor.requiredFeatures ?? []) as unknown[]) {
        if (typeof f !== "string" || !KNOWN.has(f)) {
          throw new TypeError(
            "Failed to execute 'requestDevice' on 'GPUAdapter': 'requiredFeatures' of " +
              "'GPUDeviceDescriptor' (Argument 1) can not be converted to a enum",
          );
        }
        if (!real.features.has(f as GPUFeatureName)) {
          throw new TypeError(`Unsupported feature requested: ${f}`);
        }
      }
      spent = true;
      counts.devices++;
      return await real.requestDevice(descriptor);
    },
  };
}

async function withStrictGpu<T>(body: (counts: Counts) => Promise<T>): Promise<T> {
  const real = navigator.gpu;
  const counts: Counts = { requests: 0, devices: 0, infoAfterDevice: 0 };
  const fake = {
    requestAdapter: async (options?: GPURequestAdapterOptions) => {
      counts.requests++;
      const adapter = await real.requestAdapter(options);
      return adapter ? strictAdapter(adapter, counts) : null;
    },
  };
  Object.defineProperty(globalThis.navigator, "gpu", { value: fake, configurable: true });
  try {
    return await body(counts);
  } finally {
    delete (globalThis.navigator as { gpu?: unknown }).gpu;
  }
}

/** Forgets the started webgpu backend so that the next start runs tfjs's factory again. */
function freshWebgpu(): void {
  const factory = tf.findBackendFactory("webgpu");
  assert(factory, "tfjs-backend-webgpu registers its factory");
  tf.removeBackend("webgpu");
  tf.registerBackend("webgpu", factory, 3);
}

Deno.test("_supportedFeatures flattens nested names and keeps what the adapter reports", () => {
  const adapter = { features: new Set(["timestamp-query", "bgra8unorm-storage"]) } as never;
  assertEquals(
    _supportedFeatures(["timestamp-query", ["bgra8unorm-storage"], 3, "shader-f16"], adapter),
    ["timestamp-query", "bgra8unorm-storage"],
  );
  assertEquals(_supportedFeatures(undefined, adapter), []);
});

Deno.test({
  name: "useBackend('webgpu') starts on a Deno-strict adapter where tfjs alone fails",
  ignore: navigator.gpu === undefined || (await navigator.gpu.requestAdapter()) === null,
  fn: async () => {
    await tf.setBackend("cpu");
    // tfjs-webgpu alone: its nested feature array is refused
    await withStrictGpu(async (counts) => {
      freshWebgpu();
      const warn = console.warn;
      console.warn = () => {};
      try {
        assertEquals(await tf.setBackend("webgpu"), false);
      } finally {
        console.warn = warn;
      }
      assertEquals(counts.devices, 0);
    });
    // through useBackend: features filtered, retried without the one the adapter cannot
    // give, and the adapter's info read before the device exists
    await withStrictGpu(async (counts) => {
      freshWebgpu();
      const info = await useBackend("webgpu");
      assertEquals(info.name, "webgpu", info.reason);
      assertEquals(tf.getBackend(), "webgpu");
      assertEquals(counts.devices, 1);
      assertEquals(counts.infoAfterDevice, 0);
      const y = tf.tidy(() => tf.matMul(tf.ones([2, 3]), tf.ones([3, 2])));
      assertEquals(Array.from(await y.data()), [3, 3, 3, 3]);
      y.dispose();
    });
    await tf.setBackend("cpu");
  },
});

Deno.test("useBackend('webgpu') whose device cannot be created falls back to WASM and says why", async () => {
  const real = navigator.gpu;
  const broken = {
    requestAdapter: async () => {
      const adapter = await real?.requestAdapter();
      if (!adapter) return null;
      return {
        features: new Set<string>(),
        limits: adapter.limits,
        info: adapter.info,
        requestDevice: () => Promise.reject(new Error("device lost at creation")),
      };
    },
  };
  Object.defineProperty(globalThis.navigator, "gpu", { value: broken, configurable: true });
  try {
    freshWebgpu();
    const warn = console.warn;
    console.warn = () => {};
    let info;
    try {
      info = await useBackend("webgpu");
    } finally {
      console.warn = warn;
    }
    if (real) {
      assertEquals(info.name, "wasm");
      assertStringIncludes(
        info.reason,
        "webgpu was asked for but cannot start (device lost at creation)",
      );
    }
  } finally {
    delete (globalThis.navigator as { gpu?: unknown }).gpu;
  }
  await tf.setBackend("cpu");
});
