// Where a sweep runs one module trial, isolated from the sweep and from other trials:
// either as a Deno Worker (its own isolate, so its own tfjs) or, with
// `isolation: "process"`, as a child process (which also survives out-of-memory: V8 ends
// the whole process when any of its isolates runs out of heap). It imports the trial
// module, runs the trial with the sweep's callback (which reports each epoch to the
// executor and prunes through it) and sends the outcome back.
import { trialCallback, type TrialReports } from "./pruner_callback.ts";
import { _objective, _PROCESS_PREFIX, type TrialResult } from "./sweep.ts";

/** The message that starts a trial. */
export interface _RunMessage {
  type: "run";
  trialId: number;
  module: string;
  exportName: string;
  params: Record<string, unknown>;
  monitor: string;
  direction: "minimize" | "maximize";
  pruner?: Parameters<typeof trialCallback>[0]["pruner"];
}

const waiting = new Map<number, (reports: TrialReports) => void>();

function _onReports(epoch: number, reports: TrialReports): void {
  waiting.get(epoch)?.(reports);
  waiting.delete(epoch);
}

async function _run(msg: _RunMessage, send: (message: unknown) => void): Promise<void> {
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
          send({ type: "epoch", epoch, metrics, value });
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
    send({ type: "done", objective: _objective(out, msg.monitor) });
  } catch (error) {
    send({
      type: "failed",
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
  }
}

// A Worker's entry module also has import.meta.main set: look for a worker first.
if (typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== "undefined") {
  const scope = globalThis as unknown as {
    onmessage: ((e: MessageEvent) => void) | null;
    postMessage(message: unknown): void;
  };
  scope.onmessage = (e: MessageEvent) => {
    const msg = e.data as _RunMessage | { type: "reports"; epoch: number; reports: TrialReports };
    if (msg.type === "reports") _onReports(msg.epoch, msg.reports);
    else void _run(msg, (m) => scope.postMessage(m));
  };
} else if (import.meta.main) {
  // a child process: JSON lines on standard input and (prefixed) on standard output
  const encoder = new TextEncoder();
  const send = (message: unknown) =>
    void Deno.stdout.writeSync(encoder.encode(`${_PROCESS_PREFIX}${JSON.stringify(message)}\n`));
  const decoder = new TextDecoder();
  let buffered = "";
  let running: Promise<void> | undefined;
  for await (const chunk of Deno.stdin.readable) {
    buffered += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (!line.trim()) continue;
      const msg = JSON.parse(line) as _RunMessage | {
        type: "reports";
        epoch: number;
        reports: [number, number[]][];
      };
      if (msg.type === "run") running = _run(msg, send).then(() => Deno.exit(0));
      else _onReports(msg.epoch, new Map(msg.reports));
    }
  }
  await running;
}
