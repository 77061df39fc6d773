// The Worker in which a sweep runs one module trial: its own isolate, so its own tfjs.
// It imports the trial module, runs the trial with the sweep's callback (which reports
// each epoch to the executor and prunes through it) and posts the outcome.
import { trialCallback, type TrialReports } from "./callbacks/pruner_callback.ts";
import { _objective, type TrialResult } from "./sweep.ts";

interface RunMessage {
  type: "run";
  trialId: number;
  module: string;
  exportName: string;
  params: Record<string, unknown>;
  monitor: string;
  direction: "minimize" | "maximize";
  pruner?: Parameters<typeof trialCallback>[0]["pruner"];
}

const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
};
const waiting = new Map<number, (reports: TrialReports) => void>();

scope.onmessage = async (e: MessageEvent) => {
  const msg = e.data as RunMessage | { type: "reports"; epoch: number; reports: TrialReports };
  if (msg.type === "reports") {
    waiting.get(msg.epoch)?.(msg.reports);
    waiting.delete(msg.epoch);
    return;
  }
  try {
    const mod = await import(msg.module) as Record<string, unknown>;
    const fn = mod[msg.exportName];
    if (typeof fn !== "function") {
      throw new TypeError(`The trial module ${msg.module} exports no function '${msg.exportName}'`);
    }
    const channel = {
      trialId: msg.trialId,
      epochEnd(
        epoch: number,
        metrics: Record<string, number>,
        value: number,
      ): Promise<TrialReports> {
        return new Promise((resolve) => {
          waiting.set(epoch, resolve);
          scope.postMessage({ type: "epoch", epoch, metrics, value });
        });
      },
    };
    const callbacks = [
      trialCallback({
        channel,
        monitor: msg.monitor,
        direction: msg.direction,
        ...(msg.pruner ? { pruner: msg.pruner } : {}),
      }),
    ];
    const out = await (fn as (p: unknown, c: unknown) => Promise<TrialResult>)(msg.params, {
      trialId: msg.trialId,
      callbacks,
    });
    scope.postMessage({ type: "done", objective: _objective(out, msg.monitor) });
  } catch (error) {
    scope.postMessage({
      type: "failed",
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
  }
};
