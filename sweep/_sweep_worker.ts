// Where a sweep runs one module trial, isolated from the sweep and from other trials:
// either as a Deno Worker (its own isolate, so its own tfjs) or, with
// `isolation: "process"`, as a child process (which also survives out-of-memory: V8 ends
// the whole process when any of its isolates runs out of heap). It imports the trial
// module, runs the trial with the sweep's callback (which reports each epoch to the
// executor and prunes through it) and sends the outcome back. A child process ends as
// soon as its standard input closes: when the sweep dies (even by kill -9), its trials die.
import * as tf from "@tensorflow/tfjs";
import "../backend/_env.ts";
import { trialCallback } from "./pruner_callback.ts";
import {
  errorText,
  type ExecutorMessage,
  exportNames,
  objectiveOf,
  PROCESS_PREFIX,
  type RunMessage,
  type TrialResult,
} from "./_protocol.ts";
import type { TrialReports } from "./types.ts";

// No WebGL under Deno: without this, tfjs probes for it (printing two stack traces) when
// the trial first touches a backend.
tf.env().set("WEBGL_VERSION", 0);

const waiting = new Map<number, { ok: (r: TrialReports) => void; fail: (e: Error) => void }>();

function onMessage(msg: ExecutorMessage, send: (message: unknown) => void): Promise<void> | void {
  if (msg.type === "run") return run(msg, send);
  const w = waiting.get(msg.epoch);
  waiting.delete(msg.epoch);
  if (msg.type === "reports") w?.ok(new Map(msg.reports));
  else w?.fail(new Error(msg.error));
}

async function run(msg: RunMessage, send: (message: unknown) => void): Promise<void> {
  let fn: unknown;
  try {
    const mod = await import(msg.module) as Record<string, unknown>;
    fn = mod[msg.exportName];
    if (typeof fn !== "function") {
      send({
        type: "failed",
        setup: true,
        error:
          `TypeError: Cannot run trials as module ${msg.module} exports no function '${msg.exportName}': it exports ${
            exportNames(mod)
          } (write \`export async function ${msg.exportName}(params, ctx)\`, or name the export with \`trial: { module, export }\`)`,
      });
      return;
    }
  } catch (error) {
    send({
      type: "failed",
      setup: true,
      error: `Cannot import trial module ${msg.module}: ${errorText(error)}`,
    });
    return;
  }
  try {
    const channel = {
      trialId: msg.trialId,
      epochEnd(
        epoch: number,
        metrics: Record<string, number>,
        value: number,
      ): Promise<TrialReports> {
        return new Promise((ok, fail) => {
          waiting.set(epoch, { ok, fail });
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
    send({ type: "done", objective: objectiveOf(out, msg.monitor) });
  } catch (error) {
    send({ type: "failed", error: errorText(error) });
  }
}

// A Worker's entry module also has import.meta.main set: look for a worker first.
if (typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== "undefined") {
  const scope = globalThis as unknown as {
    onmessage: ((e: MessageEvent) => void) | null;
    postMessage(message: unknown): void;
  };
  scope.onmessage = (e: MessageEvent) =>
    void onMessage(e.data as ExecutorMessage, (m) => scope.postMessage(m));
} else if (import.meta.main) {
  // a child process: JSON lines on standard input and (prefixed) on standard output
  const encoder = new TextEncoder();
  const send = (message: unknown) =>
    void Deno.stdout.writeSync(encoder.encode(`${PROCESS_PREFIX}${JSON.stringify(message)}\n`));
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of Deno.stdin.readable) {
    buffered += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (!line.trim()) continue;
      const msg = JSON.parse(line) as ExecutorMessage;
      const running = onMessage(msg, send);
      if (running) void running.then(() => Deno.exit(0));
    }
  }
  // standard input closed: the sweep has ended or died, so this trial ends too
  Deno.exit(3);
}
