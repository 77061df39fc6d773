export * from "./use_backend.ts";
export * from "./wasm_kernels.ts";
