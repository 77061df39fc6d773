// LAMB over several steps against a float64 reference written from the paper's update
// (You et al. 2019, as fastai v2's lamb_step): bias-corrected Adam moments, then the
// direction scaled per tensor by the trust ratio min(rms(p) / rms(s), 10), or 1 when either
// norm is 0. Three tensors cover the three cases: a large one (the ratio clamped at 10), a
// small one (the ratio below 1) and one starting at zero (the ratio 1 on the first step).
import * as tf from "@tensorflow/tfjs";
import { assert } from "@std/assert";
import { lamb } from "../../optim/lamb.ts";
import { disposeOptimizerState, initOptimizer, optimizerStep } from "../../optim/optimizer.ts";
import { useCpu } from "../_helpers.ts";

await useCpu();

interface Ref {
  p: number[];
  m: number[];
  v: number[];
  /** The trust ratio of the last step. */
  q: number;
}

const rms = (xs: number[]): number => Math.sqrt(xs.reduce((a, x) => a + x * x, 0) / xs.length);

/** One LAMB step in float64. */
function refStep(r: Ref, g: number[], t: number, lr: number, b1: number, b2: number, eps: number) {
  const m = r.m.map((mi, i) => b1 * mi + (1 - b1) * g[i]!);
  const v = r.v.map((vi, i) => b2 * vi + (1 - b2) * g[i]! ** 2);
  const s = m.map((mi, i) => mi / (1 - b1 ** t) / (Math.sqrt(v[i]! / (1 - b2 ** t)) + eps));
  const r1 = rms(r.p);
  const r2 = rms(s);
  const q = r1 > 0 && r2 > 0 ? Math.min(r1 / r2, 10) : 1;
  return { p: r.p.map((pi, i) => pi - lr * q * s[i]!), m, v, q };
}

/** Gradient of tensor k at step t: varying in sign and size from step to step. */
const grad = (k: number, t: number, n: number): number[] =>
  Array.from({ length: n }, (_, i) => Math.sin(1.7 * t + 2.3 * i + k) * (1 + 0.5 * i) + 0.3 * k);

Deno.test("lamb() matches a float64 reference over 8 steps: clamped, small and zero-start trust ratios", async () => {
  const starts = [[50, -40, 60, 30], [0.3, -0.2, 0.5, 0.1], [0, 0, 0, 0]];
  const vars = starts.map((p) => tf.variable(tf.tensor1d(p)));
  const params = vars.map((variable) => ({ variable, group: 0, decay: true }));
  const opt = lamb();
  const h = { lr: 0.05, mom: 0.9, sqrMom: 0.99, eps: 1e-6, wd: 0 };
  let state = initOptimizer(opt, params);
  const refs: Ref[] = starts.map((p) => ({ p, m: [0, 0, 0, 0], v: [0, 0, 0, 0], q: NaN }));
  const ratios: number[][] = [];
  const before = tf.memory().numTensors;
  for (let t = 1; t <= 8; t++) {
    const gs = starts.map((_, k) => grad(k, t, 4));
    const grads = Object.fromEntries(vars.map((v, k) => [v.name, tf.tensor1d(gs[k]!)]));
    state = optimizerStep(opt, params, grads, state, [h]);
    tf.dispose(Object.values(grads));
    refs.forEach((r, k) => (refs[k] = refStep(r, gs[k]!, t, h.lr, h.mom, h.sqrMom, h.eps)));
    ratios.push(refs.map((r) => r.q));
    for (let k = 0; k < vars.length; k++) {
      const got = await vars[k]!.data();
      refs[k]!.p.forEach((want, i) => {
        const tol = 2e-5 * Math.max(1, Math.abs(want));
        assert(
          Math.abs(got[i]! - want) <= tol,
          `step ${t}, tensor ${k}[${i}]: ${got[i]} vs ${want}`,
        );
      });
    }
  }
  assert(tf.memory().numTensors === before);
  // the cases the starts were chosen for really happened
  assert(ratios.every((q) => q[0] === 10), "the large tensor's ratio is clamped every step");
  assert(ratios.every((q) => q[1]! > 0.2 && q[1]! < 2), "the small tensor's ratio is unclamped");
  assert(
    ratios[0]![2] === 1 && ratios.slice(1).every((q) => q[2]! !== 1),
    "zero start: 1, then not",
  );
  disposeOptimizerState(state);
  tf.dispose(vars);
});

Deno.test("lamb()'s moments are bias-corrected: a constant gradient under the clamp moves p by lr * 10", async () => {
  // g constant: mHat = g and vHat = g^2 at every step, so s = g / |g| = ±1 (eps 0). With
  // rms(p) = 200 the ratio is clamped at 10: each step moves p by exactly lr * 10 = 0.1.
  // Uncorrected moments would give |s| = (1 - 0.9^t) / sqrt(1 - 0.99^t): 1, 1.34, 1.57, ...
  const w = tf.variable(tf.tensor1d([200, -200]));
  const params = [{ variable: w, group: 0, decay: true }];
  const opt = lamb();
  const h = { lr: 0.01, mom: 0.9, sqrMom: 0.99, eps: 0, wd: 0 };
  let state = initOptimizer(opt, params);
  for (let t = 1; t <= 5; t++) {
    const g = { [w.name]: tf.tensor1d([0.5, -0.5]) };
    state = optimizerStep(opt, params, g, state, [h]);
    tf.dispose(Object.values(g));
    const got = await w.data();
    const want = 200 - 0.1 * t;
    assert(Math.abs(got[0]! - want) < 2e-4 && Math.abs(got[1]! + want) < 2e-4, `step ${t}: ${got}`);
  }
  disposeOptimizerState(state);
  w.dispose();
});
