import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
tf.env().set("PROD", true);
await tf.setBackend("wasm");
await tf.ready();
const wasm = new Set(tf.getKernelsForBackend("wasm").map((k) => k.kernelName));
const cpu = new Set(tf.getKernelsForBackend("cpu").map((k) => k.kernelName));
console.log("wasm count", wasm.size, "cpu", cpu.size);
console.log("missing in wasm:", [...cpu].filter((k) => !wasm.has(k)).sort().join(" "));
console.log(
  "simd",
  await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"),
  "threads",
  await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT"),
);
