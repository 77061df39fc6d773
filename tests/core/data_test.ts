import * as tf from "@tensorflow/tfjs";
import { assertEquals, assertNotEquals, assertThrows } from "@std/assert";
import { batches } from "../../core/data.ts";
import { epochBatches, type LoopBatch } from "../../core/_epoch.ts";
import { useCpu } from "../_helpers.ts";

await useCpu();

async function epochRows(b: ReturnType<typeof batches>, epoch: number): Promise<number[][]> {
  const it = epochBatches(b, epoch) as Iterator<LoopBatch>;
  const rows: number[][] = [];
  for (let r = it.next(); !r.done; r = it.next()) {
    rows.push(Array.from(await (r.value.input as tf.Tensor).data()));
    tf.dispose([r.value.input as tf.Tensor, r.value.target]);
  }
  return rows;
}

Deno.test("batches() keeps the last partial batch and visits samples in order by default", async () => {
  const x = tf.range(0, 10);
  const y = tf.range(0, 10);
  const b = batches(x, y, { batchSize: 4 });
  assertEquals([b.length, b.nSamples, b.batchSize], [3, 10, 4]);
  assertEquals(await epochRows(b, 0), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  tf.dispose([x, y]);
});

Deno.test("batches() shuffles by seed and epoch: same seed same order, each epoch new", async () => {
  const x = tf.range(0, 20);
  const y = tf.range(0, 20);
  const a = batches(x, y, { batchSize: 20, shuffle: true, seed: 7 });
  const b = batches(x, y, { batchSize: 20, shuffle: true, seed: 7 });
  const c = batches(x, y, { batchSize: 20, shuffle: true, seed: 8 });
  const a0 = (await epochRows(a, 0))[0]!;
  assertEquals((await epochRows(b, 0))[0], a0);
  assertNotEquals((await epochRows(a, 1))[0], a0);
  assertNotEquals((await epochRows(c, 0))[0], a0);
  assertEquals(a0.slice().sort((p, q) => p - q), Array.from({ length: 20 }, (_, i) => i));
  tf.dispose([x, y]);
});

Deno.test("batches() takes typed arrays with inferred or given shapes and frees them on dispose()", () => {
  const before = tf.memory().numTensors;
  const b = batches(new Float32Array(12), new Int32Array(4), { batchSize: 2 });
  assertEquals([b.x.shape, b.y.shape, b.y.dtype], [[4, 3], [4], "int32"]);
  const c = batches(new Float32Array(12), new Int32Array(3), { xShape: [3, 2, 2] });
  assertEquals(c.x.shape, [3, 2, 2]);
  b.dispose();
  c.dispose();
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("batches() refuses mismatched sample counts, empty data and bad batch sizes", () => {
  const x = tf.zeros([5, 2]);
  const y = tf.zeros([4]);
  assertThrows(
    () => batches(x, y),
    RangeError,
    "x has shape [5,2] and y has shape [4]",
  );
  assertThrows(() => batches(tf.zeros([0, 2]), tf.zeros([0])), RangeError, "empty");
  assertThrows(
    () => batches(x, x, { batchSize: 0 }),
    RangeError,
    "'batchSize' must be a positive integer",
  );
  const before = tf.memory().numTensors;
  assertThrows(
    () => batches(new Float32Array(10), new Int32Array(4), { xShape: [5, 2] }),
    RangeError,
  );
  assertEquals(tf.memory().numTensors, before);
  tf.dispose([x, y]);
});

Deno.test("epochBatches() rejects what is not a data source", () => {
  assertThrows(() => epochBatches(42 as never, 0), TypeError, "data source must be");
});
