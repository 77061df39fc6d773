// csvLogger and progressBar: file content, terminal and pipe output, Jupyter display.
import { assertAlmostEquals, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { csvLogger } from "../../callbacks/csv_logger.ts";
import { dryRun } from "../../core/dry_run.ts";
import { progressBar } from "../../callbacks/progress_bar.ts";

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
  assertEquals(lines[0], "epoch,train_loss,valid_loss,accuracy,time");
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
  assertEquals(lines[0]!.split(/\s+/), ["epoch", "train_loss", "valid_loss", "accuracy", "time"]);
  assertEquals(lines[1]!.split(/\s+/).slice(0, 4), ["0", "0.5", "0.4", "0.8"]);
  assertMatch(lines[2]!, /^1\s+0\.5\s+0\.3\s+0\.9\s+\d\d:\d\d$/);
  assertEquals(out.includes("\r"), false);
});

Deno.test("progressBar() on a terminal draws a live bar with batch, loss and ETA, then the table", async () => {
  let out = "";
  const stream = { write: (t: string) => void (out += t), isTerminal: () => true };
  await dryRun([progressBar({ stream, now: clock(50), refreshMs: 0 })], {
    epochs: 1,
    batchesPerEpoch: 4,
    losses: () => 2,
  });
  assertStringIncludes(out, "\r\x1b[2Kepoch 1/1 [#####---------------] 1/4 loss 2 eta");
  assertStringIncludes(out, "4/4 loss 2 eta 00:00");
  const tail = out.slice(out.lastIndexOf("\r\x1b[2K") + 5);
  assertMatch(tail, /^epoch\s+train_loss\s+valid_loss\s+time\n0\s+2\s+2\s+00:00\n$/);
});

Deno.test("progressBar() in Jupyter updates one HTML display in place", async () => {
  const calls: { html: string; update: boolean; id: string }[] = [];
  const display = (b: Readonly<Record<string, string>>, o: { update: boolean; id: string }) =>
    void calls.push({ html: b["text/html"]!, update: o.update, id: o.id });
  await dryRun([progressBar({ display, now: clock(200), refreshMs: 0 })], {
    epochs: 2,
    batchesPerEpoch: 2,
  });
  assertEquals(calls[0]!.update, false);
  assertEquals(calls.slice(1).every((c) => c.update && c.id === calls[0]!.id), true);
  assertStringIncludes(calls.at(-1)!.html, "<th>valid_loss</th>");
  assertEquals((calls.at(-1)!.html.match(/<tr><td>/g) ?? []).length, 2);
  assertStringIncludes(calls[1]!.html, '<progress value="1" max="2">');
});
