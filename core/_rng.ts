// A small seeded random generator (mulberry32) and the permutations built on it. Pure
// functions of their seeds, so a shuffle can be replayed exactly.

/** Mixes two 32-bit integers into one seed. */
export function mixSeed(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

/** A generator of floats in [0, 1) from a 32-bit seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The permutation of 0..n-1 for (seed, epoch): Fisher-Yates over mulberry32. */
export function permutation(n: number, seed: number, epoch: number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const rand = mulberry32(mixSeed(seed, epoch));
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/**
 * `m` indices drawn with replacement, index i with probability `weights[i] / sum` (as
 * PyTorch's WeightedRandomSampler), for (seed, epoch): inverse CDF over mulberry32.
 */
export function weightedDraws(
  weights: ArrayLike<number>,
  m: number,
  seed: number,
  epoch: number,
): Int32Array {
  const n = weights.length;
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) cdf[i] = sum += weights[i]!;
  const rand = mulberry32(mixSeed(seed, epoch));
  const out = new Int32Array(m);
  for (let k = 0; k < m; k++) {
    const u = rand() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    out[k] = lo;
  }
  return out;
}

/** A standard normal sample (Box-Muller) from a uniform generator. */
export function normal(rand: () => number): number {
  let u = 0;
  while (u === 0) u = rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** A Gamma(a, 1) sample (Marsaglia-Tsang; boosted for a < 1). */
export function gamma(rand: () => number, a: number): number {
  if (a < 1) {
    let u = 0;
    while (u === 0) u = rand();
    return gamma(rand, a + 1) * u ** (1 / a);
  }
  const d = a - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = normal(rand);
    const v = (1 + c * x) ** 3;
    if (v <= 0) continue;
    const u = rand();
    if (u < 1 - 0.0331 * x ** 4) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** A Beta(a, b) sample. */
export function beta(rand: () => number, a: number, b: number): number {
  const x = gamma(rand, a);
  const y = gamma(rand, b);
  return x / (x + y);
}
