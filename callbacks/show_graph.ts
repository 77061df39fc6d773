import type { Callback, StateUpdate } from "../core/callback.ts";
import { historyOf } from "../core/recorder.ts";
import type { TrainState } from "../core/state.ts";
import type { JupyterDisplay } from "./progress_bar.ts";
import { plotLosses } from "./plots.ts";

/** Options of {@linkcode showGraph}. */
export interface ShowGraphOptions {
  /**
   * Where the final picture is written when not in a notebook (needs `--allow-write`);
   * `null` writes nothing. @default {"losses.svg"}
   */
  readonly path?: string | null;
  /** Jupyter display, updated in place. @default {Deno.jupyter.display when in a notebook} */
  readonly display?: JupyterDisplay;
  /** Also redraw every this many training batches (0: at epoch ends only). @default {0} */
  readonly everyBatches?: number;
}

let _graphs = 0;

function _jupyter(): JupyterDisplay | undefined {
  let j: { display(o: unknown, p: unknown): Promise<void> } | undefined;
  try {
    j = (Deno as unknown as { jupyter?: typeof j }).jupyter; // throws outside `deno jupyter`
  } catch {
    return undefined;
  }
  if (!j || typeof j.display !== "function") return undefined;
  return (bundle, { update, id }) =>
    void j.display(bundle, { raw: true, update, display_id: id }).catch(() => {});
}

/**
 * The loss plot, live (fastai's ShowGraph): in a Jupyter notebook one picture of the
 * training and validation losses, redrawn in place after every epoch (and every
 * `everyBatches` batches if set); elsewhere the final picture is written to `path` when
 * training ends (also after an error). Uses the losses as far as they have been read: it
 * causes no device read.
 *
 * @param options Output file, Jupyter display, redraw frequency.
 * @returns The callback.
 * @throws {RangeError} If `everyBatches` is not a non-negative integer.
 *
 * @example Updates of a display, once per epoch and at the end
 * ```ts
 * import { showGraph } from "@fitloop/fitloop/callbacks";
 * import { dryRun } from "@fitloop/fitloop/core";
 * import { assertEquals, assertStringIncludes } from "@std/assert";
 * const shown: string[] = [];
 * const display = (b: Readonly<Record<string, string>>) => void shown.push(b["image/svg+xml"]!);
 * await dryRun([showGraph({ display })], { epochs: 3, batchesPerEpoch: 4 });
 * assertEquals(shown.length, 1 + 3 + 1); // a first picture, each epoch, the end
 * assertStringIncludes(shown.at(-1)!, "valid");
 * ```
 */
export function showGraph(options: ShowGraphOptions = {}): Callback {
  const display = options.display ?? _jupyter();
  const path = options.path === undefined ? "losses.svg" : options.path;
  const everyBatches = options.everyBatches ?? 0;
  if (!(Number.isInteger(everyBatches) && everyBatches >= 0)) {
    throw new RangeError(
      `Cannot create showGraph as 'everyBatches' must be a non-negative integer: current value is ${everyBatches}`,
    );
  }
  let id = "";
  const draw = (s: TrainState): void => {
    if (!display) return;
    const update = id !== ""; // a resumed run opens its own picture
    if (!update) id = `fitloop-graph-${++_graphs}`;
    display({ "image/svg+xml": plotLosses(historyOf(s)).svg }, { update, id });
  };
  return {
    name: "showGraph",
    order: 1100, // after the recorder: the epoch's validation loss is in the history
    onTrainBegin(s: TrainState): void {
      id = "";
      draw(s);
    },
    onBatchEnd(s: TrainState): void {
      if (display && everyBatches > 0 && s.train && (s.iteration + 1) % everyBatches === 0) {
        draw(s);
      }
    },
    onEpochEnd(s: TrainState): void {
      draw(s);
    },
    async onTrainEnd(s: TrainState): Promise<StateUpdate | void> {
      if (display) return draw(s);
      if (path !== null) await Deno.writeTextFile(path, plotLosses(historyOf(s)).svg);
    },
  };
}
