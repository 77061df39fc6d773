// Parzen estimators for the TPE sampler: for a numeric parameter a mixture of normals
// truncated to the range (one per observation, plus a wide prior), discretised for
// integers; for a categorical one a smoothed histogram. Pure functions.
import { normal } from "../core/_rng.ts";

/** erf, to 1.2e-7 (Numerical Recipes' erfc by Chebyshev fit). */
function erf(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(
    -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
                  t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
                                  t * (-0.82215223 + t * 0.17087277)))))))),
  );
  return x >= 0 ? 1 - r : r - 1;
}

/** The standard normal CDF. */
export function normalCdf(x: number): number {
  return 0.5 * (1 + erf(x / Math.SQRT2));
}

/** Weights of observations by age, oldest first: the newest 25 weigh 1, older ones ramp down. */
export function ageWeights(n: number): number[] {
  if (n < 25) return Array.from({ length: n }, () => 1);
  const ramp = n - 25;
  return Array.from(
    { length: n },
    (_, i) => (i < ramp ? 1 / n + (ramp > 1 ? i / (ramp - 1) : 0) * (1 - 1 / n) : 1),
  );
}

/** A mixture of normals truncated to [lo, hi]; with `step`, a distribution over lo, lo+step, … hi. */
export interface NumericMixture {
  readonly weights: readonly number[];
  readonly mus: readonly number[];
  readonly sigmas: readonly number[];
  readonly lo: number;
  readonly hi: number;
  readonly step: number;
}

/**
 * The estimator of numeric observations in [lo, hi]: each observation's bandwidth is the
 * larger gap to its neighbours (the bounds and the prior's centre included), clipped to
 * [range / min(100, n + 2), range]; the prior is a normal at the centre as wide as the range.
 */
export function numericMixture(
  observations: readonly number[],
  weights: readonly number[],
  lo: number,
  hi: number,
  step: number,
  priorWeight: number,
): NumericMixture {
  const range = hi - lo + step;
  const centre = (lo + hi) / 2;
  const points = [...observations, centre];
  const order = points.map((_, i) => i).sort((a, b) => points[a]! - points[b]!);
  const sorted = [lo - step / 2, ...order.map((i) => points[i]!), hi + step / 2];
  const sigmaSorted = order.map((_, k) =>
    Math.max(sorted[k + 1]! - sorted[k]!, sorted[k + 2]! - sorted[k + 1]!)
  );
  if (sorted.length >= 4) {
    // the outermost points: only the inner gap (the bounds are not data)
    sigmaSorted[0] = sorted[2]! - sorted[1]!;
    sigmaSorted[sigmaSorted.length - 1] = sorted[sorted.length - 2]! - sorted[sorted.length - 3]!;
  }
  const sigmaOf = new Array<number>(points.length);
  order.forEach((i, k) => (sigmaOf[i] = sigmaSorted[k]!));
  const minSigma = range / Math.min(100, observations.length + 2);
  const sigmas = observations.map((_, i) => Math.min(range, Math.max(minSigma, sigmaOf[i]!)));
  const w = [...weights, priorWeight];
  const total = w.reduce((a, b) => a + b, 0);
  return {
    weights: w.map((x) => x / total),
    mus: [...observations, centre],
    sigmas: [...sigmas, range],
    lo,
    hi,
    step,
  };
}

/** A draw from the mixture (inside [lo, hi], on the step grid when there is one). */
export function sampleNumeric(m: NumericMixture, rand: () => number): number {
  let u = rand();
  let k = 0;
  while (k < m.weights.length - 1 && u >= m.weights[k]!) u -= m.weights[k++]!;
  const lo = m.lo - m.step / 2;
  const hi = m.hi + m.step / 2;
  let x = NaN;
  for (let tries = 0; tries < 100; tries++) {
    const draw = m.mus[k]! + m.sigmas[k]! * normal(rand);
    if (draw >= lo && draw <= hi) {
      x = draw;
      break;
    }
  }
  if (Number.isNaN(x)) x = Math.min(hi, Math.max(lo, m.mus[k]!));
  if (m.step > 0) x = m.lo + Math.round((x - m.lo) / m.step) * m.step;
  return Math.min(m.hi, Math.max(m.lo, x));
}

/** log density (log probability on a step grid) of `x` under the mixture. */
export function logDensity(m: NumericMixture, x: number): number {
  const lo = m.lo - m.step / 2;
  const hi = m.hi + m.step / 2;
  let p = 0;
  for (let k = 0; k < m.mus.length; k++) {
    const mu = m.mus[k]!;
    const s = m.sigmas[k]!;
    const mass = Math.max(1e-300, normalCdf((hi - mu) / s) - normalCdf((lo - mu) / s));
    const here = m.step > 0
      ? normalCdf((x + m.step / 2 - mu) / s) - normalCdf((x - m.step / 2 - mu) / s)
      : Math.exp(-0.5 * ((x - mu) / s) ** 2) / (s * Math.sqrt(2 * Math.PI));
    p += m.weights[k]! * here / mass;
  }
  return Math.log(Math.max(p, 1e-300));
}

/**
 * The estimator of categorical observations (indices into `n` choices): each observation
 * puts its weight on its choice and a little (`priorWeight / (count + 1)`) on every
 * choice, the prior spreads its weight evenly; the result is one probability per choice.
 */
export function categoricalProbabilities(
  observations: readonly number[],
  weights: readonly number[],
  n: number,
  priorWeight: number,
): number[] {
  const rows = observations.length + 1;
  const p = new Array<number>(n).fill(0);
  const w = [...weights, priorWeight];
  const total = w.reduce((a, b) => a + b, 0);
  for (let r = 0; r < rows; r++) {
    const row = new Array<number>(n).fill(priorWeight / rows);
    if (r < observations.length) row[observations[r]!]! += 1;
    const sum = row.reduce((a, b) => a + b, 0);
    for (let c = 0; c < n; c++) p[c]! += (w[r]! / total) * row[c]! / sum;
  }
  return p;
}

/** A draw of an index from probabilities. */
export function sampleIndex(p: readonly number[], rand: () => number): number {
  let u = rand();
  for (let i = 0; i < p.length - 1; i++) {
    if (u < p[i]!) return i;
    u -= p[i]!;
  }
  return p.length - 1;
}

/** One dimension of a joint (multivariate) estimator, in the sampler's coordinates. */
export type JointDimension =
  | { readonly kind: "numeric"; readonly lo: number; readonly hi: number; readonly step: number }
  | { readonly kind: "categorical"; readonly n: number };

/** A mixture of product kernels: one component per observation, and the prior. */
export interface JointMixture {
  readonly dims: readonly JointDimension[];
  readonly weights: readonly number[];
  /** Per component, per dimension: [mu, sigma] for a numeric one, probabilities for a categorical one. */
  readonly kernels: readonly (readonly (readonly number[])[])[];
}

/**
 * The joint estimator of observations (one row of coordinates per observation): numeric
 * kernels share one bandwidth per dimension, 0.2 · n^(-1/(d+4)) of the range (clipped as
 * the univariate ones), categorical kernels are the univariate rows; the prior is the
 * range-wide normal and the even spread.
 */
export function jointMixture(
  observations: readonly (readonly number[])[],
  weights: readonly number[],
  dims: readonly JointDimension[],
  priorWeight: number,
): JointMixture {
  const n = observations.length;
  const d = dims.length;
  const kernels: number[][][] = [];
  for (let k = 0; k <= n; k++) {
    const prior = k === n;
    kernels.push(dims.map((dim, j) => {
      if (dim.kind === "categorical") {
        const row = new Array<number>(dim.n).fill(priorWeight / (n + 1));
        if (!prior) row[observations[k]![j]!]! += 1;
        const sum = row.reduce((a, b) => a + b, 0);
        return row.map((v) => v / sum);
      }
      const range = dim.hi - dim.lo + dim.step;
      if (prior) return [(dim.lo + dim.hi) / 2, range];
      const sigma = 0.2 * Math.max(n, 1) ** (-1 / (d + 4)) * range;
      const min = range / Math.min(100, n + 2);
      return [observations[k]![j]!, Math.min(range, Math.max(min, sigma))];
    }));
  }
  const w = [...weights, priorWeight];
  const total = w.reduce((a, b) => a + b, 0);
  return { dims, weights: w.map((x) => x / total), kernels };
}

/** A draw from the joint mixture: one component, then every dimension from its kernel. */
export function sampleJoint(m: JointMixture, rand: () => number): number[] {
  const k = sampleIndex(m.weights, rand);
  return m.dims.map((dim, j) => {
    const kernel = m.kernels[k]![j]!;
    if (dim.kind === "categorical") return sampleIndex(kernel, rand);
    return sampleNumeric({
      weights: [1],
      mus: [kernel[0]!],
      sigmas: [kernel[1]!],
      lo: dim.lo,
      hi: dim.hi,
      step: dim.step,
    }, rand);
  });
}

/** log density of a point under the joint mixture. */
export function logJointDensity(m: JointMixture, x: readonly number[]): number {
  const terms = m.weights.map((w, k) => {
    let log = Math.log(w);
    m.dims.forEach((dim, j) => {
      const kernel = m.kernels[k]![j]!;
      if (dim.kind === "categorical") {
        log += Math.log(Math.max(kernel[x[j]!]!, 1e-300));
      } else {
        log += logDensity(
          {
            weights: [1],
            mus: [kernel[0]!],
            sigmas: [kernel[1]!],
            lo: dim.lo,
            hi: dim.hi,
            step: dim.step,
          },
          x[j]!,
        );
      }
    });
    return log;
  });
  const top = Math.max(...terms);
  return top + Math.log(terms.reduce((s, t) => s + Math.exp(t - top), 0));
}
