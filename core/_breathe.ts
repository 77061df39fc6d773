// On the cpu and WASM backends every await of the loop resolves at once, so without a
// pause the event loop would not run (no signal handler, timer or I/O callback) for a
// whole fit. Every 100 ms the loop yields to the event loop once (`setImmediate`, about
// 8 µs here; `setTimeout(0)` costs 2 ms): Ctrl-C handlers and timers run within a batch or
// so, at no measurable cost.
import { setImmediate } from "node:timers";

/** A function to await after each batch: yields to the event loop every `ms` milliseconds. */
export function breather(ms = 100): () => Promise<void> | undefined {
  let last = performance.now();
  return (): Promise<void> | undefined => {
    if (performance.now() - last < ms) return undefined;
    return new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      last = performance.now();
    });
  };
}
