// labelSmoothingCrossEntropy(): fastai's formula against float64, its gradient (softmax
// minus the smoothed target), the target forms, and eps = 0 as plain cross-entropy.
import * as tf from "@tensorflow/tfjs";
import { assertEquals, assertThrows } from "@std/assert";
import { labelSmoothingCrossEntropy } from "../../callbacks/label_smoothing.ts";
import { crossEntropy } from "../../core/losses.ts";
import { useCpu } from "../_helpers.ts";
import { close } from "../_linear.ts";

await useCpu();

const LOGITS = [[2, -1, 0.5, 0], [0.1, 0.2, 3, -2], [-1, -1, -1, 4]];
const LABELS = [0, 2, 1];

/** -log softmax of a row, in float64. */
function nlogp(row: readonly number[]): number[] {
  const max = Math.max(...row);
  const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
  return row.map((v) => lse - v);
}

/** fastai's LabelSmoothingCrossEntropy (mean reduction), in float64. */
function reference(eps: number): number {
  const c = LOGITS[0]!.length;
  const rows = LOGITS.map((row, i) => {
    const nl = nlogp(row);
    return (1 - eps) * nl[LABELS[i]!]! + (eps / c) * nl.reduce((s, v) => s + v, 0);
  });
  return rows.reduce((s, v) => s + v, 0) / rows.length;
}

Deno.test("labelSmoothingCrossEntropy() is (1 - eps) CE + eps mean_c(-log p), batch mean (float64 by hand)", async () => {
  const x = tf.tensor2d(LOGITS);
  const y = tf.tensor1d(LABELS, "int32");
  const before = tf.memory().numTensors;
  for (const eps of [0.1, 0.3, 0.9]) {
    const loss = labelSmoothingCrossEntropy({ eps })(x, y);
    close(await loss.data(), [reference(eps)], 1e-6);
    loss.dispose();
  }
  assertEquals(tf.memory().numTensors, before);
  tf.dispose([x, y]);
});

Deno.test("its gradient is (softmax - ((1 - eps) onehot + eps / C)) / B (float64 by hand)", async () => {
  const x = tf.tensor2d(LOGITS);
  const y = tf.tensor1d(LABELS, "int32");
  const eps = 0.2;
  const g = tf.grad((logits: tf.Tensor) => labelSmoothingCrossEntropy({ eps })(logits, y))(x);
  const expected = LOGITS.flatMap((row, i) => {
    const p = nlogp(row).map((v) => Math.exp(-v));
    return p.map((pc, c) => (pc - ((c === LABELS[i] ? 1 - eps : 0) + eps / 4)) / 3);
  });
  close(await g.data(), expected, 1e-6);
  tf.dispose([x, y, g]);
});

Deno.test("labels [B], [B, 1], one-hot and soft targets agree; eps 0 is crossEntropy bit for bit", async () => {
  const x = tf.tensor2d(LOGITS);
  const forms = [
    tf.tensor1d(LABELS, "int32"),
    tf.tensor2d(LABELS.map((l) => [l]), [3, 1], "int32"),
    tf.oneHot(tf.tensor1d(LABELS, "int32"), 4),
  ];
  const loss = labelSmoothingCrossEntropy();
  const values = await Promise.all(forms.map(async (t) => (await loss(x, t).data())[0]!));
  close(values, [reference(0.1), reference(0.1), reference(0.1)], 1e-6);
  // soft targets: a mix of two one-hot rows costs the mix of their losses
  const other = tf.oneHot(tf.tensor1d([3, 3, 0], "int32"), 4);
  const soft = tf.add(tf.mul(forms[2]!, 0.25), tf.mul(other, 0.75));
  const mixed = (await loss(x, soft).data())[0]!;
  const b = (await loss(x, other).data())[0]!;
  close([mixed], [0.25 * values[2]! + 0.75 * b], 1e-6);
  const plain = await crossEntropy(x, forms[0]!).data();
  assertEquals(await labelSmoothingCrossEntropy({ eps: 0 })(x, forms[0]!).data(), plain);
  tf.dispose([x, ...forms, other, soft]);
});

Deno.test("labelSmoothingCrossEntropy() checks eps and the target's shape", () => {
  assertThrows(() => labelSmoothingCrossEntropy({ eps: 1 }), RangeError, "'eps' must be in [0, 1)");
  assertThrows(() => labelSmoothingCrossEntropy({ eps: -0.1 }), RangeError, "'eps'");
  const x = tf.zeros([2, 3]);
  const y = tf.zeros([3]);
  assertThrows(() => labelSmoothingCrossEntropy()(x, y), RangeError, "crossEntropy");
  tf.dispose([x, y]);
});
