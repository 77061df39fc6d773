// How the executor runs one trial: in its own process (a function), in a Deno Worker or
// in a child `deno` process (a module). Each way ends in an Outcome; none throws.
import type { Callback } from "../core/callback.ts";
import { type Pruner, trialCallback, type TrialChannel } from "./pruner_callback.ts";
import {
  errorText,
  type ExecutorMessage,
  objectiveOf,
  PROCESS_PREFIX,
  reportEntries,
  type RunMessage,
  type TrialResult,
  type WorkerMessage,
} from "./_protocol.ts";
import type { Direction } from "./types.ts";

/** How a trial's run ended, before the executor adds pruning. */
export interface Outcome {
  readonly status: "done" | "failed";
  readonly objective?: number;
  readonly error?: string;
  /** The trial never ran: its module or export is wrong. */
  readonly setup?: boolean;
}

/** What a trial runs with, whichever way it runs. */
export interface TrialSetup {
  readonly params: Readonly<Record<string, unknown>>;
  readonly channel: TrialChannel;
  readonly monitor: string;
  readonly direction: Direction;
  readonly pruner: Pruner | undefined;
}

/** A trial module: its URL and export. */
export interface ModuleRef {
  readonly module: string | URL;
  readonly export?: string;
}

/** A trial function, as the executor calls it. */
export type TrialFn = (
  params: Readonly<Record<string, unknown>>,
  ctx: { readonly trialId: number; readonly callbacks: readonly Callback[] },
) => TrialResult | Promise<TrialResult>;

/** Runs a trial function in this process. */
export async function runInProcess(trial: TrialFn, setup: TrialSetup): Promise<Outcome> {
  const { params, channel, monitor, direction, pruner } = setup;
  const callbacks = [trialCallback({ channel, monitor, direction, ...(pruner ? { pruner } : {}) })];
  try {
    const out = await trial(params, { trialId: channel.trialId, callbacks });
    return { status: "done", objective: objectiveOf(out, monitor) };
  } catch (e) {
    return { status: "failed", error: errorText(e) };
  }
}

function runMessage(trial: ModuleRef, setup: TrialSetup): RunMessage {
  const { params, channel, monitor, direction, pruner } = setup;
  return {
    type: "run",
    trialId: channel.trialId,
    module: String(trial.module),
    exportName: trial.export ?? "trial",
    params,
    monitor,
    direction,
    ...(pruner ? { pruner } : {}),
  };
}

/** Answers an epoch report: every trial's reports, or why the epoch could not be recorded. */
async function answer(channel: TrialChannel, msg: WorkerMessage & { type: "epoch" }) {
  try {
    const reports = await channel.epochEnd(msg.epoch, msg.metrics, msg.value);
    return { type: "reports", epoch: msg.epoch, reports: reportEntries(reports) } as const;
  } catch (e) {
    return { type: "reportFailed", epoch: msg.epoch, error: errorText(e) } as const;
  }
}

function outcomeOf(msg: WorkerMessage): Outcome | undefined {
  if (msg.type === "done") return { status: "done", objective: msg.objective };
  if (msg.type === "failed") {
    return { status: "failed", error: msg.error, ...(msg.setup ? { setup: true } : {}) };
  }
  return undefined;
}

const PERMISSIONS = ["read", "write", "net", "env", "run", "sys", "ffi", "import"] as const;

/** `--allow-*` flags for the permissions this process holds without restriction. */
function grantedFlags(): string[] {
  const flags: string[] = [];
  for (const name of PERMISSIONS) {
    try {
      if (Deno.permissions.querySync({ name } as Deno.PermissionDescriptor).state === "granted") {
        flags.push(`--allow-${name}`);
      }
    } catch {
      // a permission this Deno does not know
    }
  }
  return flags;
}

/** Runs a trial module in a child `deno` process; it dies with its standard input. */
export async function runInChild(
  trial: ModuleRef,
  setup: TrialSetup,
  extra: readonly string[],
): Promise<Outcome> {
  const { channel } = setup;
  const runner = new URL("./_sweep_worker.ts", import.meta.url).href;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...grantedFlags(), ...extra, runner],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const encoder = new TextEncoder();
  const send = (m: ExecutorMessage) =>
    writer.write(encoder.encode(`${JSON.stringify(m)}\n`)).catch(() => {});
  await send(runMessage(trial, setup));
  let outcome: Outcome | undefined;
  let stderrTail = "";
  const readErr = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) {
      stderrTail = (stderrTail + decoder.decode(chunk)).slice(-2000);
    }
  })();
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of child.stdout) {
    buffered += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (!line.startsWith(PROCESS_PREFIX)) {
        console.log(line); // the trial's own output
        continue;
      }
      const msg = JSON.parse(line.slice(PROCESS_PREFIX.length)) as WorkerMessage;
      if (msg.type === "epoch") await send(await answer(channel, msg));
      else outcome = outcomeOf(msg);
    }
  }
  const status = await child.status;
  await readErr;
  await writer.close().catch(() => {});
  if (outcome) return outcome;
  const how = status.signal ? `signal ${status.signal}` : `code ${status.code}`;
  const lines = stderrTail.split("\n").map((l) => l.replace(/^#\s*/, "").trim()).filter((l) => l);
  const telling = lines.filter((l) => /Fatal|[Ee]rror|Uncaught|panic/.test(l));
  const last = (telling.length ? telling : lines).slice(-2).join(" | ");
  return {
    status: "failed",
    error: `the trial's process ended with ${how} before finishing${last ? `: ${last}` : ""}`,
  };
}

/** Runs a trial module in a Deno Worker. */
export function runInWorker(trial: ModuleRef, setup: TrialSetup): Promise<Outcome> {
  const { channel } = setup;
  return new Promise((resolve) => {
    const worker = new Worker(new URL("./_sweep_worker.ts", import.meta.url).href, {
      type: "module",
    });
    let settled = false;
    const finish = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      worker.terminate();
      resolve(outcome);
    };
    worker.onmessage = async (e: MessageEvent<WorkerMessage>) => {
      const msg = e.data;
      if (msg.type === "epoch") {
        const reply = await answer(channel, msg);
        if (!settled) worker.postMessage(reply);
        return;
      }
      const outcome = outcomeOf(msg);
      if (outcome) finish(outcome);
    };
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      finish({ status: "failed", error: `the trial's worker crashed: ${e.message}` });
    };
    worker.onmessageerror = () =>
      finish({ status: "failed", error: "the trial's worker sent an unreadable message" });
    worker.postMessage(runMessage(trial, setup));
  });
}
