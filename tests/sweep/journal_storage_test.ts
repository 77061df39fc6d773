import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { journalStorage } from "../../sweep/journal_storage.ts";
import { readJournal } from "../../sweep/journal.ts";
import { choice, grid, uniform } from "../../sweep/search_space.ts";
import { sweep } from "../../sweep/sweep.ts";
import { prunedThanksToOthers, type Report, startWorker } from "./_shared.ts";

/** A pid that no process has: a short-lived child's, after it ended. */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}

Deno.test("a torn last journal line is set aside with a warning and its trial runs again", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/j.jsonl`;
  const options = {
    space: { x: choice([1, 2, 3]) },
    sampler: grid(),
    trial: ({ x }: { x: number }) => x,
  };
  await sweep({ ...options, storage: path });
  // a crash of another sweep while it wrote trial 2's record, after its claim
  const lines = (await Deno.readTextFile(path)).trim().split("\n");
  const kept = lines.filter((l) => !(JSON.parse(l).index === 2 && "status" in JSON.parse(l)));
  const claim = JSON.parse(kept.find((l) => l.includes('"claim"') && l.includes('"index":2'))!);
  claim.pid = await deadPid();
  const torn = '{"key":"{\\"x\\":3}","index":2,"params":{"x":3},"status":"fini';
  await Deno.writeTextFile(
    path,
    kept.map((l) => (l.includes('"claim"') && l.includes('"index":2') ? JSON.stringify(claim) : l))
      .join("\n") + "\n" + torn,
  );
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...a: unknown[]) => void warnings.push(a.join(" "));
  let again;
  try {
    again = await sweep({ ...options, storage: path });
  } finally {
    console.warn = warn;
  }
  assertEquals(warnings.length, 1);
  assertStringIncludes(warnings[0]!, "cut short");
  assertEquals(await Deno.readTextFile(`${path}.torn`), `${torn}\n`);
  assertEquals([again.ran, again.resumed], [1, 2]);
  assertEquals(again.trials.map((t) => [t.index, t.status]), [[0, "finished"], [1, "finished"], [
    2,
    "finished",
  ]]);
  // the journal is whole again: later runs read it without complaint
  const third = await sweep({ ...options, storage: path });
  assertEquals([third.ran, third.resumed], [0, 3]);
  const records = await readJournal(path);
  assertEquals(records.filter((r) => r.index === 2).map((r) => r.status), ["failed", "finished"]);
  assertStringIncludes(records.find((r) => r.status === "failed")!.error!, "is gone");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a journal holds one study: another monitor or other planned parameters are refused", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/j.jsonl`;
  await sweep({
    space: { x: choice([1, 2]) },
    sampler: grid(),
    trial: ({ x }) => x,
    storage: path,
  });
  await assertRejects(
    () =>
      sweep({
        space: { x: choice([1, 2]) },
        sampler: grid(),
        trial: ({ x }) => x,
        storage: path,
        monitor: "accuracy",
      }),
    RangeError,
    "holds a study of 'validLoss' (minimize)",
  );
  await assertRejects(
    () =>
      sweep({ space: { x: choice([5, 6]) }, sampler: grid(), trial: ({ x }) => x, storage: path }),
    RangeError,
    'its trial 0 has parameters {"x":1} where this sweep\'s sampler gives {"x":5}',
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("journalStorage() validates its periods", () => {
  try {
    journalStorage("x.jsonl", { graceSeconds: 0 });
    throw new Error("accepted");
  } catch (e) {
    assert(e instanceof RangeError);
    assertStringIncludes(e.message, "'graceSeconds' must be a positive number");
  }
});

Deno.test("two processes share one journal: each trial once, pruning against the other's trials", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/j.jsonl`;
  const workers = [startWorker([path, "14", "60"]), startWorker([path, "14", "60"])];
  const outs = await Promise.all(workers.map((w) => w.output()));
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  for (const o of outs) assert(o.success, decode(o.stderr));
  const results = outs.map((o) => JSON.parse(decode(o.stdout).trim().split("\n").at(-1)!));
  assertEquals(results.reduce((s, r) => s + r.ran, 0), 14);
  assert(results.every((r) => r.ran > 0), JSON.stringify(results));
  const lines = (await Deno.readTextFile(path)).trim().split("\n").map((l) => JSON.parse(l));
  const records = lines.filter((l) => "status" in l);
  assertEquals(records.map((r) => r.index).sort((a, b) => a - b), [...Array(14).keys()]);
  const claims = new Map<string, string>();
  for (const l of lines) if (l.type === "claim") claims.set(`${l.index}/${l.attempt}`, l.worker);
  const reports: Report[] = lines.filter((l) => l.type === "epoch").map((l) => ({
    index: l.index,
    attempt: l.attempt,
    epoch: l.epoch,
    value: l.value,
    worker: claims.get(`${l.index}/${l.attempt}`)!,
  }));
  const pruned = records.filter((r) => r.status === "pruned").map((r) => ({
    index: r.index,
    attempt: r.attempt,
    epoch: r.epochs.length - 1,
  }));
  assert(pruned.length > 0, "nothing was pruned");
  assert(prunedThanksToOthers(reports, pruned).length > 0, JSON.stringify(pruned));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a sweep given uniform() and grid() is refused clearly", async () => {
  await assertRejects(
    () => sweep({ space: { x: uniform(0, 1) }, sampler: grid(), trial: ({ x }) => x }),
    TypeError,
    "a grid takes choice() and constants only",
  );
});

Deno.test("three processes racing for instant trials on one journal claim each trial once (the file lock)", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/j.jsonl`;
  const outs = await Promise.all([0, 1, 2].map(() => startWorker([path, "40", "0"]).output()));
  for (const o of outs) assert(o.success, new TextDecoder().decode(o.stderr));
  const lines = (await Deno.readTextFile(path)).trim().split("\n").map((l) => JSON.parse(l));
  const claimed = lines.filter((l) => l.type === "claim").map((l) => l.index);
  assertEquals(claimed.sort((a, b) => a - b), [...Array(40).keys()]);
  await Deno.remove(dir, { recursive: true });
});
