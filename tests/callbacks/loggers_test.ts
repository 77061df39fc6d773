// csvLogger and progressBar: file content, terminal and pipe output, widths, ETA, Jupyter.
import * as tf from "@tensorflow/tfjs";
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "@std/assert";
import { csvLogger } from "../../callbacks/csv_logger.ts";
import { dryRun } from "../../core/dry_run.ts";
import { progressBar } from "../../callbacks/progress_bar.ts";
import { _barLine, _timing } from "../../callbacks/_table.ts";
import type { Callback } from "../../core/callback.ts";
import { initialState } from "../../core/state.ts";
import { fit } from "../../core/fit.ts";
import { disposeLearner, learner } from "../../core/learner.ts";
import { mse } from "../../core/losses.ts";
import { batches } from "../../core/data.ts";
import { fork } from "../../core/snapshot.ts";
import { useCpu } from "../_helpers.ts";

await useCpu();

function clock(stepMs: number): () => number {
  let t = 0;
  return () => (t += stepMs);
}

Deno.test("csvLogger() writes a header once and one line per epoch, flushed as it goes", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/history.csv`;
  const seen: string[] = [];
  const peek = {
    name: "peek",
    order: 10,
    onEpochEnd: async () => void seen.push(await Deno.readTextFile(path)),
  };
  await dryRun([csvLogger({ path, now: clock(250) }), peek], {
    epochs: 3,
    batchesPerEpoch: 2,
    losses: [1, 1, 0.5, 0.5, 0.25, 0.25],
    validLosses: [0.9, 0.4, 0.2],
    metrics: { accuracy: [0.5, 0.75, 1] },
  });
  const text = await Deno.readTextFile(path);
  const lines = text.trim().split("\n");
  // one vocabulary: the names `monitor` takes and `metricNames` holds
  assertEquals(lines[0], "epoch,trainLoss,validLoss,accuracy,time");
  assertEquals(lines.length, 4);
  const first = lines[1]!.split(",").slice(0, 4).map(Number);
  [0, 1, 0.9, 0.5].forEach((v, i) => assertAlmostEquals(first[i]!, v, 1e-12));
  assertEquals(lines[3]!.split(",")[3], "1");
  assertMatch(lines[1]!.split(",")[4]!, /^\d+\.\d{3}$/);
  assertEquals(seen.map((t) => t.trim().split("\n").length), [2, 3, 4]); // on disk after each epoch
  // append: no second header
  await dryRun([csvLogger({ path, append: true })], { epochs: 1, batchesPerEpoch: 1 });
  const again = (await Deno.readTextFile(path)).trim().split("\n");
  assertEquals(again.length, 5);
  assertEquals(again.filter((l) => l.startsWith("epoch")).length, 1);
  // not append: a new file
  await dryRun([csvLogger({ path })], { epochs: 1, batchesPerEpoch: 1 });
  assertEquals((await Deno.readTextFile(path)).trim().split("\n").length, 2);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("csvLogger() creates the folder of its file", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/runs/today/history.csv`;
  await dryRun([csvLogger({ path })], { epochs: 2, batchesPerEpoch: 1 });
  assertEquals((await Deno.readTextFile(path)).trim().split("\n").length, 3);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("progressBar() on a pipe prints the epoch table, one plain line per epoch", async () => {
  let out = "";
  const stream = { write: (t: string) => void (out += t), isTerminal: () => false };
  await dryRun([progressBar({ stream, now: clock(1000) })], {
    epochs: 2,
    batchesPerEpoch: 5,
    losses: () => 0.5,
    validLosses: [0.4, 0.3],
    metrics: { accuracy: [0.8, 0.9] },
  });
  const lines = out.trimEnd().split("\n");
  assertEquals(lines.length, 3);
  assertEquals(lines[0]!.split(/\s+/), ["epoch", "trainLoss", "validLoss", "accuracy", "time"]);
  assertEquals(lines[1]!.split(/\s+/).slice(0, 4), ["0", "0.5", "0.4", "0.8"]);
  assertMatch(lines[2]!, /^1\s+0\.5\s+0\.3\s+0\.9\s+\d\d:\d\d$/);
  assertEquals(out.includes("\r"), false);
});

/** A clock that only moves when told, and a callback that makes each batch take 1 s. */
function batchClock(): { now: () => number; tick: Callback } {
  let t = 0;
  return {
    now: () => t,
    tick: { name: "tick", order: -1, onBatchEnd: (s) => void (s.train && (t += 1000)) },
  };
}

Deno.test("progressBar() on a terminal: elapsed<ETA from the batches done (1 s per batch)", async () => {
  let out = "";
  const stream = {
    write: (t: string) => void (out += t),
    isTerminal: () => true,
    columns: () => 120,
  };
  const { now, tick } = batchClock();
  await dryRun([tick, progressBar({ stream, now, refreshMs: 0 })], {
    epochs: 2,
    batchesPerEpoch: 4,
    losses: () => 2,
  });
  const draws = out.split("\r\x1b[2K").filter((d) => d.startsWith("epoch 1/2"));
  // after k of 4 batches of 1 s: k s elapsed, 4 - k s to go
  assertEquals(
    draws.map((d) => d.match(/(\d+\/4) (\d\d:\d\d<\d\d:\d\d)/)!.slice(1).join(" ")),
    ["1/4 00:01<00:03", "2/4 00:02<00:02", "3/4 00:03<00:01", "4/4 00:04<00:00"],
  );
  assertStringIncludes(out, "\r\x1b[2Kepoch 1/2 [#####---------------] 1/4 00:01<00:03 loss 2");
  const tail = out.slice(out.lastIndexOf("\r\x1b[2K") + 5);
  assertMatch(tail, /^1\s+2\s+2\s+00:04\n$/);
  const table = out.split("\r\x1b[2K").find((d) => /^epoch\s+trainLoss/.test(d))!;
  assertMatch(table, /^epoch\s+trainLoss\s+validLoss\s+time\n0\s+2\s+2\s+00:04\n$/);
});

Deno.test("the ETA counts only the batches this fit ran (a fit resumed mid-epoch)", () => {
  // 10 batches per epoch, resumed at batch 6: 2 batches run in 4 s, 2 to go
  assertEquals(_timing(4000, 8, 6, 10), "00:04<00:04");
  assertEquals(_timing(4000, 8, 0, 10), "00:04<00:01");
  assertEquals(_timing(1000, 3, 0, undefined), "00:01<?");
});

Deno.test("the live bar fits the terminal: no line as wide as it (which would wrap)", () => {
  const s = {
    ...initialState({ nEpochs: 12, nBatches: 1875, hypers: [], loss: mse }),
    epoch: 10,
    smoothLoss: 0.123456789,
  };
  for (const columns of [20, 30, 40, 50, 67, 80, 120, 200]) {
    const line = _barLine(s, 1234, "01:23<00:42", columns);
    assert(line.length <= Math.max(10, columns - 1), `${columns}: ${line.length} ${line}`);
    assert(line.startsWith("epoch 11/12"), line);
  }
  assertStringIncludes(_barLine(s, 1234, "01:23<00:42", 120), "[#############-------]");
  assertEquals(_barLine(s, 1234, "01:23<00:42", 40), "epoch 11/12 1234/1875 01:23<00:42");
});

Deno.test("progressBar() in Jupyter: HTML and text/plain, elapsed<ETA, one display per fit", async () => {
  const calls: {
    html: string;
    text: string;
    update: boolean;
    id: string;
  }[] = [];
  const display = (b: Readonly<Record<string, string>>, o: { update: boolean; id: string }) =>
    void calls.push({ html: b["text/html"]!, text: b["text/plain"]!, ...o });
  const { now, tick } = batchClock();
  const bar = progressBar({ display, now, refreshMs: 0 });
  await dryRun([tick, bar], { epochs: 2, batchesPerEpoch: 2 });
  assertEquals(calls[0]!.update, false);
  assertEquals(calls.slice(1).every((c) => c.update && c.id === calls[0]!.id), true);
  assertStringIncludes(calls.at(-1)!.html, "<th>validLoss</th>");
  assertEquals((calls.at(-1)!.html.match(/<tr><td>/g) ?? []).length, 2);
  assertStringIncludes(calls[1]!.html, '<progress value="1" max="2">');
  assertStringIncludes(calls[1]!.html, "1/2 [00:01&lt;00:01]");
  assertStringIncludes(calls[1]!.text, "epoch 1/2 1/2 00:01<00:01 loss");
  assertMatch(calls.at(-1)!.text, /^epoch\s+trainLoss\s+validLoss\s+time\n0\s.*\n1\s/);
  // the same instance in a second fit (a learner's bar, then lrFind, then fit…): a new display
  const first = calls.length;
  await dryRun([tick, bar], { epochs: 1, batchesPerEpoch: 2 });
  assertEquals(calls[first]!.update, false);
  assert(calls[first]!.id !== calls[0]!.id);
  assertEquals(calls.slice(first + 1).every((c) => c.id === calls[first]!.id), true);
  assertEquals((calls.at(-1)!.html.match(/<tr><td>/g) ?? []).length, 1);
});

Deno.test("progressBar() prints a header again for a resumed fit", async () => {
  const x = tf.linspace(0, 1, 8).reshape([8, 1]);
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
  const learn = learner({
    model,
    data: { train: batches(x, x, { batchSize: 4 }), valid: batches(x, x) },
    loss: mse,
  });
  let out = "";
  const stream = { write: (t: string) => void (out += t), isTerminal: () => false };
  const bar = progressBar({ stream });
  const first = await fit(learn, 2, { callbacks: [bar] });
  const copy = await fork(learn, first);
  await fit(copy.learner, 4, { resume: copy.state, callbacks: [bar] });
  const lines = out.trimEnd().split("\n").map((l) => l.split(/\s+/)[0]);
  assertEquals(lines, ["epoch", "0", "1", "epoch", "2", "3"]);
  copy.dispose();
  disposeLearner(learn);
  x.dispose();
  model.dispose();
});
