/**
 * The callback library: every technique is one small callback record in its own file.
 *
 * @example The recorder is always on; its history comes back from every fit
 * ```ts
 * import { recorder } from "@fitloop/fitloop/callbacks";
 * import { assertEquals } from "@std/assert";
 * assertEquals(recorder().name, "recorder");
 * ```
 *
 * @module
 */
export * from "./recorder.ts";
