import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertNotEquals, assertRejects } from "@std/assert";
import type { Callback } from "../../core/callback.ts";
import { earlyStopping } from "../../callbacks/early_stopping.ts";
import { mixUp } from "../../callbacks/mix_up.ts";
import { oneCycle } from "../../callbacks/one_cycle.ts";
import { snapshotEvery } from "../../callbacks/snapshot_every.ts";
import { _modelVariables } from "../../core/_weights.ts";
import { useBackend } from "../../backend/use_backend.ts";
import { batches } from "../../core/data.ts";
import { fit, type FitResult } from "../../core/fit.ts";
import { disposeLearner, type Learner, learner } from "../../core/learner.ts";
import { crossEntropy } from "../../core/losses.ts";
import { accuracy } from "../../core/metrics.ts";
import { exportOptimizerState } from "../../optim/optimizer.ts";
import { fork, loadSnapshot, snapshot } from "../../core/snapshot.ts";
import { snapshotSteps } from "../../core/_snapshot_steps.ts";

function model(seed: number): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.dense({
        units: 16,
        inputShape: [4],
        activation: "relu",
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
      }),
      tf.layers.dropout({ rate: 0.25 }),
      tf.layers.dense({
        units: 3,
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
      }),
    ],
  });
}

interface Run {
  learn: Learner;
  dispose(): void;
}

function setup(seed: number): Run {
  const x = tf.randomNormal([120, 4], 0, 1, "float32", 11);
  const y = tf.tidy(() => tf.cast(tf.mod(tf.floor(tf.mul(tf.abs(tf.sum(x, 1)), 2)), 3), "int32"));
  const m = model(seed);
  const learn = learner({
    model: m,
    data: {
      train: batches(x, y, { batchSize: 16, shuffle: true }),
      valid: batches(x, y, { batchSize: 40 }),
    },
    loss: crossEntropy,
    metrics: [accuracy],
  });
  return { learn, dispose: () => (disposeLearner(learn), tf.dispose([x, y]), m.dispose()) };
}

const callbacks =
  (): Callback[] => [oneCycle({ lrMax: 0.05 }), earlyStopping({ patience: 10 }), mixUp()];

async function weights(learn: Learner): Promise<Float32Array[]> {
  return await Promise.all(
    _modelVariables(learn.model).map((v) => v.data() as Promise<Float32Array>),
  );
}

/** The uninterrupted run, and the same run killed inside epoch 1 and resumed from its snapshot. */
async function interruptedVersusNot(): Promise<
  { a: FitResult; b: FitResult; wa: Float32Array[]; wb: Float32Array[] }
> {
  const dir = await Deno.makeTempDir();
  const A = setup(1);
  const a = await fit(A.learn, 3, { seed: 42, callbacks: callbacks() });
  const wa = await weights(A.learn);
  A.dispose();

  const B = setup(1);
  const crash: Callback = {
    name: "crash",
    order: 20_000,
    onBatchEnd: (s) => {
      if (s.train && s.iteration === 10) throw new Error("killed at batch 11 (inside epoch 1)");
    },
  };
  await assertRejects(
    () =>
      fit(B.learn, 3, {
        seed: 42,
        callbacks: [...callbacks(), snapshotEvery({ dir: `${dir}/snap`, batches: 11 }), crash],
      }),
    Error,
    "killed",
  );
  B.dispose();
  // a fresh process would start from a fresh model: different initial weights on purpose
  const C = setup(7);
  const b = await fit(C.learn, 3, { callbacks: callbacks(), resume: `${dir}/snap` });
  const wb = await weights(C.learn);
  C.dispose();
  await Deno.remove(dir, { recursive: true });
  return { a, b, wa, wb };
}

Deno.test("a run interrupted inside an epoch and resumed is bit-identical on cpu (oneCycle, earlyStopping, mixUp, dropout)", async () => {
  await useBackend("cpu");
  const { a, b, wa, wb } = await interruptedVersusNot();
  assertEquals(a.history.nBatches, [8, 8, 8]);
  assertEquals(b.history, a.history);
  assertEquals(wb, wa);
  assertEquals(b.state.memory.earlyStopping, a.state.memory.earlyStopping);
  assertEquals(b.state.iteration, 24);
});

Deno.test("the same resume on wasm agrees to 1e-6 relative", async () => {
  await useBackend("wasm");
  const { a, b, wa, wb } = await interruptedVersusNot();
  const close = (x: number, y: number) => Math.abs(x - y) <= 1e-6 * Math.max(1, Math.abs(y));
  a.history.losses.forEach((v, i) => assert(close(b.history.losses[i]!, v), `loss ${i}`));
  wa.forEach((w, i) => w.forEach((v, j) => assert(close(wb[i]![j]!, v), `weight ${i}/${j}`)));
  await useBackend("cpu");
});

Deno.test("fork() gives independent continuations that leave the original alone", async () => {
  await useBackend("cpu");
  const A = setup(3);
  const base = await fit(A.learn, 1, { seed: 1 });
  const before = await weights(A.learn);
  const optBefore = await exportOptimizerState(A.learn.optState!);
  const f1 = await fork(A.learn, base);
  const f2 = await fork(A.learn, base);
  const r1 = await fit(f1.learner, 3, { lr: 1e-2, resume: f1.state });
  await fit(f2.learner, 3, { lr: 1e-4, resume: f2.state });
  assertEquals(r1.history.nBatches, [8, 8, 8]);
  assertEquals(r1.history.losses.slice(0, 8), base.history.losses); // shared past
  assertNotEquals(await weights(f1.learner), await weights(f2.learner));
  assertEquals(await weights(A.learn), before);
  assertEquals(await exportOptimizerState(A.learn.optState!), optBefore);
  // a fork continued with the original lr equals continuing the original itself
  const f3 = await fork(A.learn, base);
  const r3 = await fit(f3.learner, 2, { resume: f3.state });
  const r0 = await fit(A.learn, 2, {
    resume: base.state.train ? base.state : { ...base.state, epoch: 1, numBatch: 0, train: true },
  });
  assertEquals(r3.history, r0.history);
  assertEquals(await weights(f3.learner), await weights(A.learn));
  const count = tf.memory().numTensors;
  for (const f of [f1, f2, f3]) f.dispose();
  assert(tf.memory().numTensors < count);
  A.dispose();
});

Deno.test("corrupt, truncated, incomplete, foreign-version and mismatched snapshots are refused, changing nothing", async () => {
  await useBackend("cpu");
  const dir = await Deno.makeTempDir();
  const A = setup(5);
  const result = await fit(A.learn, 1);
  await snapshot(A.learn, result, { dir: `${dir}/good` });
  const B = setup(6);
  await fit(B.learn, 1, { lr: 0.1 });
  const wBefore = await weights(B.learn);
  const oBefore = await exportOptimizerState(B.learn.optState!);
  const copy = async (name: string) => {
    await Deno.mkdir(`${dir}/${name}/model`, { recursive: true });
    for (
      const f of [
        "manifest.json",
        "state.json",
        "optimizer.json",
        "model/model.json",
        "model/weights.bin",
      ]
    ) {
      await Deno.copyFile(`${dir}/good/${f}`, `${dir}/${name}/${f}`);
    }
    return `${dir}/${name}`;
  };
  const corrupt = await copy("corrupt");
  const bin = await Deno.readFile(`${corrupt}/model/weights.bin`);
  bin[10] = bin[10]! ^ 0xff;
  await Deno.writeFile(`${corrupt}/model/weights.bin`, bin);
  await assertRejects(() => loadSnapshot(B.learn, corrupt), Error, "model/weights.bin is corrupt");
  const truncated = await copy("truncated");
  const state = await Deno.readTextFile(`${truncated}/state.json`);
  await Deno.writeTextFile(`${truncated}/state.json`, state.slice(0, state.length / 2));
  await assertRejects(() => loadSnapshot(B.learn, truncated), Error, "state.json is corrupt");
  const missing = await copy("missing");
  await Deno.remove(`${missing}/optimizer.json`);
  await assertRejects(() => loadSnapshot(B.learn, missing), Error, "optimizer.json is missing");
  const foreign = await copy("foreign");
  const manifest = JSON.parse(await Deno.readTextFile(`${foreign}/manifest.json`));
  await Deno.writeTextFile(
    `${foreign}/manifest.json`,
    JSON.stringify({ ...manifest, version: 99 }),
  );
  await assertRejects(() => fit(B.learn, 2, { resume: foreign }), Error, "version 99");
  const unfinished = await copy("unfinished");
  await Deno.remove(`${unfinished}/manifest.json`);
  await assertRejects(() => loadSnapshot(B.learn, unfinished), Error, "manifest.json is missing");
  const other = learner({
    model: tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [4] })] }),
    data: B.learn.data,
    loss: crossEntropy,
  });
  await assertRejects(() => loadSnapshot(other, `${dir}/good`), Error, "do not fit this model");
  (other.model as tf.LayersModel).dispose();
  assertEquals(await weights(B.learn), wBefore);
  assertEquals(await exportOptimizerState(B.learn.optState!), oBefore);
  // and the good one loads
  const s = await loadSnapshot(B.learn, `${dir}/good`);
  assertEquals([s.epoch, s.numBatch, s.iteration], [1, 0, 8]);
  assertEquals(await weights(B.learn), await weights(A.learn));
  A.dispose();
  B.dispose();
  await Deno.remove(dir, { recursive: true });
});

/** The steps of a write that replaces a snapshot, as announced (paths relative to the parent). */
const REPLACE_STEPS = [
  "mkdir snap.tmp",
  "write snap.tmp/state.json",
  "write snap.tmp/optimizer.json",
  "model snap.tmp/model",
  "write snap.tmp/manifest.json",
  "rename snap.old",
  "rename snap",
  "remove snap.old",
];

/**
 * Makes the next snapshot write stop for good before its `index`-th step, as if the process
 * died there; for a "write" step, `bytes` of the file land first (a torn write). Resolves
 * with the step once the write has stopped.
 */
function crashBefore(index: number, bytes?: (n: number) => number): Promise<string> {
  let i = 0;
  return new Promise((stopped) => {
    snapshotSteps.listener = async (step, path, data) => {
      if (i++ !== index) return;
      if (data && bytes) await Deno.writeFile(path, data.subarray(0, bytes(data.length)));
      stopped(step);
      await new Promise<never>(() => {}); // nothing after this point ever runs
    };
  });
}

Deno.test("a write stopped at any step or byte never leaves a half snapshot that loads", async () => {
  await useBackend("cpu");
  const root = await Deno.makeTempDir();
  const A = setup(1);
  const probe = setup(2);
  const one = await fit(A.learn, 1); // a snapshot of this resumes at epoch 1
  const two = await fit(A.learn, 2); // and of this at epoch 2
  const name = (p: string, parent: string) =>
    p.slice(parent.length + 1).replace(/\.(tmp|old)-[0-9a-f-]+/, ".$1");
  /** What each entry of `parent` holds: the epoch a snapshot resumes at, or "refused". */
  const survey = async (parent: string): Promise<Record<string, number | "refused">> => {
    const found: Record<string, number | "refused"> = {};
    for (const e of [...Deno.readDirSync(parent)].sort((a, b) => a.name < b.name ? -1 : 1)) {
      const at = `${parent}/${e.name}`;
      found[name(at, parent)] = await loadSnapshot(probe.learn, at).then(
        (s) => s.epoch,
        () => "refused" as const,
      );
    }
    return found;
  };
  try {
    // the steps, as announced by a write that replaces a snapshot
    const steps: string[] = [];
    await snapshot(A.learn, one, { dir: `${root}/steps/snap` });
    snapshotSteps.listener = (step, path) =>
      void steps.push(`${step} ${name(path, `${root}/steps`)}`);
    await snapshot(A.learn, two, { dir: `${root}/steps/snap` });
    snapshotSteps.listener = undefined;
    assertEquals(steps, REPLACE_STEPS);
    assertEquals(await survey(`${root}/steps`), { snap: 2 });

    // replacing the epoch-1 snapshot by the epoch-2 one, stopped before each step
    const expected: Record<string, number | "refused">[] = [
      { snap: 1 }, // before mkdir
      { snap: 1, "snap.tmp": "refused" }, // before state.json: an empty directory
      { snap: 1, "snap.tmp": "refused" },
      { snap: 1, "snap.tmp": "refused" },
      { snap: 1, "snap.tmp": "refused" }, // everything but the manifest
      { snap: 1, "snap.tmp": 2 }, // complete, not yet in place
      { "snap.old": 1, "snap.tmp": 2 }, // between the renames: no snap at all
      { snap: 2, "snap.old": 1 }, // in place; the old one not yet removed
    ];
    for (const [i, want] of expected.entries()) {
      const parent = `${root}/step${i}`;
      await snapshot(A.learn, one, { dir: `${parent}/snap` });
      const stopped = crashBefore(i);
      void snapshot(A.learn, two, { dir: `${parent}/snap` });
      assertEquals(await stopped, REPLACE_STEPS[i]!.split(" ")[0]);
      snapshotSteps.listener = undefined;
      assertEquals(await survey(parent), want, `stopped before: ${REPLACE_STEPS[i]}`);
    }

    // torn writes: a file cut at its first byte, its second, its middle, its last
    const cuts = [() => 0, () => 1, (n: number) => n >> 1, (n: number) => n - 1];
    for (const index of [1, 2, 4]) {
      for (const [c, cut] of cuts.entries()) {
        const parent = `${root}/torn${index}-${c}`;
        await snapshot(A.learn, one, { dir: `${parent}/snap` });
        const stopped = crashBefore(index, cut);
        void snapshot(A.learn, two, { dir: `${parent}/snap` });
        assertEquals(await stopped, "write");
        snapshotSteps.listener = undefined;
        assertEquals(await survey(parent), { snap: 1, "snap.tmp": "refused" }, parent);
      }
    }

    // the very first write, stopped before it is in place, leaves no snap
    const first = `${root}/first`;
    const stopped = crashBefore(4, (n) => n >> 1);
    void snapshot(A.learn, one, { dir: `${first}/snap` });
    assertEquals(await stopped, "write");
    snapshotSteps.listener = undefined;
    assertEquals(await survey(first), { "snap.tmp": "refused" });
  } finally {
    snapshotSteps.listener = undefined;
    A.dispose();
    probe.dispose();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("snapshotEvery() writes by epochs and by seconds, and refuses an ambiguous frequency", async () => {
  await useBackend("cpu");
  const dir = await Deno.makeTempDir();
  const A = setup(2);
  const byEpoch = await fit(A.learn, 4, {
    callbacks: [snapshotEvery({ dir: `${dir}/e`, epochs: 2 })],
  });
  assertEquals((byEpoch.state.memory.snapshotEvery as { written: number }).written, 2);
  const fromEpoch = await loadSnapshot(A.learn, `${dir}/e`);
  assertEquals([fromEpoch.epoch, fromEpoch.numBatch], [4, 0]); // after epoch index 3
  let t = 0;
  const tick: Callback = { name: "tick", onBatchEnd: (s) => void (s.train && (t += 400)) };
  const bySeconds = await fit(A.learn, 1, {
    callbacks: [tick, snapshotEvery({ dir: `${dir}/s`, seconds: 1, now: () => t })],
  });
  // 8 batches of 400 ms: snapshots after 1.2 s, 2.4 s (batches 3 and 6)
  assertEquals((bySeconds.state.memory.snapshotEvery as { written: number }).written, 2);
  assertEquals((await loadSnapshot(A.learn, `${dir}/s`)).numBatch, 6);
  for (const bad of [{}, { batches: 1, epochs: 1 }, { seconds: -1 }]) {
    let threw = false;
    try {
      snapshotEvery({ dir, ...bad });
    } catch (e) {
      threw = e instanceof RangeError;
    }
    assert(threw, JSON.stringify(bad));
  }
  A.dispose();
  await Deno.remove(dir, { recursive: true });
});
