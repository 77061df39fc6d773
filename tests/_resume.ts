// A run killed mid-epoch and resumed from its snapshot, against the same run uninterrupted
// (the pattern of tests/core/snapshot_test.ts, shared by the technique tests), with the
// tensor count checked around each of the three fits.
import * as tf from "@tensorflow/tfjs";
import { assertEquals, assertRejects } from "@std/assert";
import type { Callback } from "../core/callback.ts";
import { snapshotEvery } from "../callbacks/snapshot_every.ts";
import { fit, type FitOptions, type FitResult } from "../core/fit.ts";
import type { Learner } from "../core/learner.ts";
import { _modelVariables } from "../core/_weights.ts";

/** A learner and how to free it (model, data, optimizer state). */
export interface Run {
  readonly learn: Learner;
  dispose(): void;
}

/** What to run and what to compare. */
export interface ResumeCase<T> {
  /** A fresh run; `init` seeds the initial weights (a new process starts from other ones). */
  setup(init: number): Run;
  /** Epochs of the fit. */
  readonly epochs: number;
  /** Fresh callbacks for each fit. */
  callbacks(): Callback[];
  /** lr, seed and the like. */
  readonly options?: Omit<FitOptions, "callbacks" | "resume">;
  /** The run is snapshotted at the end of training batch `at` (0-based) and killed there. */
  readonly at: number;
  /** What must agree, read after the fit. */
  read(learn: Learner, result: FitResult): Promise<T>;
}

/** The model's weights, bit for bit. */
export async function weightsOf(learn: Learner): Promise<Float32Array[]> {
  return await Promise.all(
    _modelVariables(learn.model).map((v) => v.data() as Promise<Float32Array>),
  );
}

/**
 * Runs `c` uninterrupted, then killed at batch `at` with a snapshot and resumed in a fresh
 * learner (other initial weights), asserting that each fit leaves the tensor count where
 * it found it; returns what `read` gave for both.
 */
export async function interruptedVersusNot<T>(
  c: ResumeCase<T>,
): Promise<{ straight: T; resumed: T; a: FitResult; b: FitResult }> {
  const dir = await Deno.makeTempDir();
  const counted = async <R>(body: () => Promise<R>): Promise<R> => {
    const before = tf.memory().numTensors;
    const r = await body();
    assertEquals(tf.memory().numTensors, before, "tensors left behind by a fit");
    return r;
  };
  const options = { seed: 42, ...c.options };
  const [a, straight] = await counted(async () => {
    const A = c.setup(1);
    const a = await fit(A.learn, c.epochs, { ...options, callbacks: c.callbacks() });
    const read = await c.read(A.learn, a);
    A.dispose();
    return [a, read] as const;
  });
  await counted(async () => {
    const B = c.setup(1);
    const crash: Callback = {
      name: "crash",
      order: 20_000,
      onBatchEnd: (s) => {
        if (s.train && s.iteration === c.at) throw new Error(`killed at batch ${c.at}`);
      },
    };
    const snap = snapshotEvery({ dir: `${dir}/snap`, batches: c.at + 1 });
    await assertRejects(
      () => fit(B.learn, c.epochs, { ...options, callbacks: [...c.callbacks(), snap, crash] }),
      Error,
      "killed",
    );
    B.dispose();
  });
  const [b, resumed] = await counted(async () => {
    const C = c.setup(7);
    const b = await fit(C.learn, c.epochs, {
      ...c.options,
      callbacks: c.callbacks(),
      resume: `${dir}/snap`,
    });
    const read = await c.read(C.learn, b);
    C.dispose();
    return [b, read] as const;
  });
  await Deno.remove(dir, { recursive: true });
  return { straight, resumed, a, b };
}
