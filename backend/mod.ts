/**
 * Backends: `useBackend` picks WebGPU on a real GPU, else WASM with fitloop's training
 * kernels, else tfjs's cpu backend, and says why; the WASM kernels fitloop registers.
 *
 * Imports nothing of fitloop's other folders (the loop imports it).
 *
 * @example Ask for the cpu backend
 * ```ts
 * import { useBackend } from "@fitloop/fitloop/backend";
 * import { assertEquals } from "@std/assert";
 * const info = await useBackend("cpu");
 * assertEquals(info.name, "cpu");
 * ```
 *
 * @module
 */
export * from "./use_backend.ts";
export * from "./wasm_kernels.ts";
