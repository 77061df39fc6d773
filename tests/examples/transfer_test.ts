// The transfer-learning example on a small slice: it runs end to end, the body stays bit for
// bit while frozen, and it leaves the pictures, the log and the TensorBoard file it promises.
import { assert, assertEquals } from "@std/assert";
import { main } from "../../examples/transfer.ts";

Deno.test("the transfer example trains a head on a frozen body, then everything, and interprets", async () => {
  const out = await Deno.makeTempDir();
  const lines: string[] = [];
  const summary = await main(
    ["--samples", "800", "--epochs", "1", "--backend", "wasm", "--out", out],
    (line) => void lines.push(line),
  );
  assertEquals(summary.bodyUnchanged, true);
  for (const a of [summary.frozenAccuracy, summary.finalAccuracy]) {
    assert(a >= 0 && a <= 1, String(a));
  }
  for (
    const f of [
      "summary.txt",
      "history.csv",
      "history_unfrozen.csv",
      "confusion.svg",
      "top_losses.svg",
      "activations.svg",
    ]
  ) {
    assert((await Deno.stat(`${out}/${f}`)).size > 0, f);
  }
  const tb = [...Deno.readDirSync(`${out}/tb`)].map((e) => e.name);
  assertEquals(tb.length, 1);
  assertEquals((await Deno.readTextFile(`${out}/history.csv`)).trim().split("\n").length, 2);
  const unfrozen = (await Deno.readTextFile(`${out}/history_unfrozen.csv`)).trim().split("\n");
  assertEquals(unfrozen[0], "epoch,trainLoss,validLoss,accuracy,tensors,bytes,peakBytes,time");
  assert(lines.some((l) => l.includes("Trainable params: 2005")), lines.join("\n"));
  await Deno.remove(out, { recursive: true });
});
