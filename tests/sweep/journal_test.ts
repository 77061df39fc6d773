import { assertEquals, assertRejects } from "@std/assert";
import {
  appendJournal,
  mergeJournals,
  readJournal,
  trialKey,
  type TrialRecord,
} from "../../sweep/journal.ts";

const rec = (key: string, index: number, status: TrialRecord["status"]): TrialRecord => ({
  key,
  index,
  params: { index },
  status,
  objective: status === "failed" ? null : index,
  epochs: [{ validLoss: NaN }],
  seconds: 1,
});

Deno.test("the journal appends one JSON line per trial and reads them back (NaN as null)", async () => {
  const path = await Deno.makeTempFile({ suffix: ".jsonl" });
  await appendJournal(path, rec("a", 0, "finished"));
  await appendJournal(path, rec("b", 1, "failed"));
  const text = await Deno.readTextFile(path);
  assertEquals(text.trim().split("\n").length, 2);
  const back = await readJournal(path);
  assertEquals(back.map((r) => r.key), ["a", "b"]);
  assertEquals(back[0]!.epochs, [{ validLoss: null }]);
  await Deno.remove(path);
});

Deno.test("a last line cut short by a crash is ignored; a corrupt line elsewhere is an error", async () => {
  const path = await Deno.makeTempFile();
  await appendJournal(path, rec("a", 0, "finished"));
  await Deno.writeTextFile(path, '{"key":"b","ind', { append: true });
  assertEquals((await readJournal(path)).length, 1);
  await Deno.writeTextFile(path, 'garbage\n{"key":"c"}\n');
  await assertRejects(() => readJournal(path), SyntaxError, "line 1 is not JSON");
  await Deno.remove(path);
});

Deno.test("mergeJournals() keeps one record per trial, finished over failed, in plan order", async () => {
  const a = await Deno.makeTempFile();
  const b = await Deno.makeTempFile();
  const out = await Deno.makeTempFile();
  await appendJournal(a, rec("x", 2, "failed"));
  await appendJournal(a, rec("y", 1, "finished"));
  await appendJournal(b, rec("x", 2, "pruned"));
  await appendJournal(b, rec("z", 0, "finished"));
  const merged = await mergeJournals([a, b], out);
  assertEquals(merged.map((r) => [r.key, r.status]), [["z", "finished"], ["y", "finished"], [
    "x",
    "pruned",
  ]]);
  assertEquals((await readJournal(out)).length, 3);
  for (const p of [a, b, out]) await Deno.remove(p);
});

Deno.test("trialKey() is canonical and tells repeats apart", () => {
  assertEquals(trialKey({ b: [1, { d: 1, c: 2 }], a: 1 }), '{"a":1,"b":[1,{"c":2,"d":1}]}');
  assertEquals(trialKey({ a: 1 }, 2), '{"a":1}#2');
});
