// tfjs prints a "running in Node.js" banner under Deno unless PROD is set; fitloop sets it
// once, when the loop is first imported.
import * as tf from "@tensorflow/tfjs";

if (!tf.env().getBool("PROD")) tf.env().set("PROD", true);
