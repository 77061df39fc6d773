import * as tf from "@tensorflow/tfjs";
import { fit } from "../mod.ts";
void fit;
const t = tf.ones([2, 2]);
(self as unknown as { postMessage(m: string): void }).postMessage(tf.getBackend());
t.dispose();
