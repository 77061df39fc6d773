// The event file is decoded with an independent protobuf implementation (protobufjs) against
// TensorBoard's field numbers (tests/fixtures/tensorboard_events.proto), and every record's
// CRCs are checked with an independent CRC-32C (@aws-crypto/crc32c).
import * as tf from "@tensorflow/tfjs";
import { assert, assertAlmostEquals, assertEquals, assertRejects } from "@std/assert";
import protobuf from "protobufjs";
import { crc32c } from "@aws-crypto/crc32c";
import { tensorBoard } from "../../callbacks/tensorboard.ts";
import type { Callback } from "../../core/callback.ts";
import { batches } from "../../core/data.ts";
import { fit } from "../../core/fit.ts";
import { disposeLearner, learner } from "../../core/learner.ts";
import { crossEntropy } from "../../core/losses.ts";
import { accuracy } from "../../core/metrics.ts";
import { snapshot } from "../../core/snapshot.ts";
import { sgd } from "../../optim/sgd.ts";
import { mlp, useCpu } from "../_helpers.ts";

await useCpu();

const root = protobuf.parse(
  await Deno.readTextFile(new URL("../fixtures/tensorboard_events.proto", import.meta.url)),
).root;
const EventType = root.lookupType("tensorboard.Event");

interface Histo {
  min: number;
  max: number;
  num: number;
  sum: number;
  sumSquares: number;
  bucketLimit: number[];
  bucket: number[];
}
interface Decoded {
  wallTime: number;
  step: number;
  fileVersion?: string;
  summary?: { value: { tag: string; simpleValue?: number; histo?: Histo }[] };
}

const mask = (c: number): number => (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;

/** Every record of a TFRecord file, CRCs checked, decoded as Events. */
function readEvents(bytes: Uint8Array): Decoded[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const events: Decoded[] = [];
  let o = 0;
  while (o < bytes.length) {
    const length = Number(view.getBigUint64(o, true));
    assertEquals(view.getUint32(o + 8, true), mask(crc32c(bytes.subarray(o, o + 8))), "length CRC");
    const data = bytes.subarray(o + 12, o + 12 + length);
    assertEquals(view.getUint32(o + 12 + length, true), mask(crc32c(data)), "data CRC");
    const message = EventType.decode(data);
    events.push(EventType.toObject(message, { longs: Number, defaults: false }) as Decoded);
    o += 16 + length;
  }
  assertEquals(o, bytes.length);
  return events;
}

function scalars(events: Decoded[], tag: string): [number, number][] {
  return events.flatMap((e) =>
    (e.summary?.value ?? []).filter((v) => v.tag === tag && v.simpleValue !== undefined)
      .map((v) => [e.step ?? 0, v.simpleValue!] as [number, number])
  );
}

function setup() {
  const x = tf.randomNormal([24, 2], 0, 1, "float32", 3);
  const y = tf.tidy(() => tf.cast(tf.greater(tf.sum(x, 1), 0), "int32"));
  const model = mlp(2);
  const learn = learner({
    model,
    data: { train: batches(x, y, { batchSize: 8 }), valid: batches(x, y, { batchSize: 12 }) },
    loss: crossEntropy,
    metrics: [accuracy],
    optimizer: sgd({ mom: 0.9 }),
  });
  return {
    learn,
    model,
    dispose: () => (disposeLearner(learn), tf.dispose([x, y]), model.dispose()),
  };
}

Deno.test("tensorBoard: tags, steps and values round-trip exactly; every CRC checks", async () => {
  const run = setup();
  const logDir = await Deno.makeTempDir();
  let clock = 1_700_000_000_000;
  // what the file should hold, read by a probe (per batch: a test may read)
  const losses: number[] = [];
  const probe: Callback = {
    name: "probe",
    onBackwardEnd: async (s) => void losses.push((await s.lastLoss!.data())[0]!),
  };
  const before = tf.memory().numTensors;
  const { history } = await fit(run.learn, 2, {
    lr: 0.1,
    callbacks: [
      probe,
      tensorBoard({ logDir, histograms: true, bins: 5, flushEvery: 2, now: () => (clock += 250) }),
    ],
  });
  const files = [...Deno.readDirSync(logDir)];
  assertEquals(files.length, 1);
  assert(files[0]!.name.startsWith("events.out.tfevents.1700000000."), files[0]!.name);
  const events = readEvents(await Deno.readFile(`${logDir}/${files[0]!.name}`));
  assertEquals(events[0]!.fileVersion, "brain.Event:2");
  assertEquals(events[0]!.wallTime, 1_700_000_000.25);
  const f32 = (v: number): number => Math.fround(v);
  assertEquals(scalars(events, "train/loss"), losses.map((l, i) => [i, f32(l)]));
  assertEquals(scalars(events, "train/lr"), history.lrs.map((v, i) => [i, f32(v)]));
  assertEquals(scalars(events, "train/mom"), history.moms.map((v, i) => [i, f32(v)]));
  assertEquals(
    scalars(events, "valid/loss"),
    history.valLosses.map((v, e) => [3 * (e + 1), f32(v)]),
  );
  assertEquals(
    scalars(events, "valid/accuracy"),
    history.metrics.map((m, e) => [3 * (e + 1), f32(m[0]!)]),
  );
  // wall times in seconds, increasing
  const times = events.map((e) => e.wallTime);
  assert(times.every((t, i) => i === 0 || t > times[i - 1]!), String(times));
  // the last epoch's histograms are those of the final weights
  const last = events.at(-1)!;
  assertEquals(last.step, 6);
  const histos = last.summary!.value.filter((v) => v.histo);
  assertEquals(
    histos.map((h) => h.tag),
    run.model.weights.map((w) => `weights/${(w.read() as tf.Variable).name}`),
  );
  for (const [i, h] of histos.entries()) {
    const w = Array.from(await run.model.weights[i]!.read().data());
    const histo = h.histo!;
    assertEquals([histo.min, histo.max, histo.num], [Math.min(...w), Math.max(...w), w.length]);
    assertAlmostEquals(histo.sum, w.reduce((a, b) => a + b, 0), 1e-4);
    assertAlmostEquals(histo.sumSquares, w.reduce((a, b) => a + b * b, 0), 1e-4);
    assertEquals(histo.bucketLimit.length, 5);
    assertEquals(histo.bucketLimit.at(-1), histo.max);
    // counts by hand: bucket b holds values in [min + b * width, min + (b + 1) * width)
    const width = (histo.max - histo.min) / 5;
    const counts = [0, 0, 0, 0, 0];
    for (const v of w) counts[Math.min(4, Math.floor((v - histo.min) / width))]!++;
    assertEquals(histo.bucket, counts);
  }
  run.dispose();
  assertEquals(tf.memory().numTensors, before - 2 - 4); // data and weights freed; no leftovers
  await Deno.remove(logDir, { recursive: true });
});

Deno.test("tensorBoard: a resumed run appends to the same file; an error frees the losses not written", async () => {
  const run = setup();
  const logDir = await Deno.makeTempDir();
  const tb = tensorBoard({ logDir, flushEvery: 100 });
  const first = await fit(run.learn, 1, { callbacks: [tb] });
  const snap = await Deno.makeTempDir();
  await snapshot(run.learn, first, { dir: `${snap}/s` });
  await fit(run.learn, 2, { resume: `${snap}/s`, callbacks: [tb] });
  await Deno.remove(snap, { recursive: true });
  const files = [...Deno.readDirSync(logDir)];
  assertEquals(files.length, 1);
  const events = readEvents(await Deno.readFile(`${logDir}/${files[0]!.name}`));
  assertEquals(scalars(events, "train/loss").map(([step]) => step), [0, 1, 2, 3, 4, 5]);
  assertEquals(scalars(events, "valid/loss").map(([step]) => step), [3, 6]);

  const before = tf.memory().numTensors;
  const boom: Callback = {
    name: "boom",
    onBatchEnd: (s) => {
      if (s.train && s.iteration === 1) throw new Error("boom");
    },
  };
  await assertRejects(
    () => fit(run.learn, 1, { callbacks: [tensorBoard({ logDir }), boom] }),
    Error,
    "boom",
  );
  assertEquals(tf.memory().numTensors, before);
  run.dispose();
  await Deno.remove(logDir, { recursive: true });
});
