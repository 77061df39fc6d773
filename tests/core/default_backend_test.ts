// Importing fitloop leaves no script on tfjs's slow cpu backend: the loop's first import
// picks WebGPU (a real GPU) or WASM, also in a Worker, with no WebGL noise; FITLOOP_BACKEND
// opts out. Each case runs in a fresh process (the choice happens once, at import).
import { assert, assertEquals, assertNotEquals } from "@std/assert";

const root = new URL("../../", import.meta.url);

async function runScript(
  code: string,
  env: Record<string, string> = {},
): Promise<{ out: string; err: string }> {
  const dir = await Deno.makeTempDir({ dir: new URL(".", root).pathname });
  const path = `${dir}/script.ts`;
  await Deno.writeTextFile(path, code.replaceAll("ROOT/", root.href));
  try {
    const { stdout, stderr, code: status } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--import-map=tests/import_map.json", path],
      cwd: new URL(".", root).pathname,
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(stdout);
    const err = new TextDecoder().decode(stderr);
    assertEquals(status, 0, err);
    return { out, err };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const script = `
import * as tf from "@tensorflow/tfjs";
import { fit } from "ROOT/mod.ts";
void fit;
const t = tf.ones([2, 2]);
console.log(tf.getBackend());
t.dispose();
`;

Deno.test("importing fitloop chooses WebGPU or WASM before any tensor exists", async () => {
  const { out, err } = await runScript(script);
  const backend = out.trim();
  assert(["wasm", "webgpu"].includes(backend), `backend ${backend}; stderr: ${err}`);
  assertEquals(/webgl/i.test(err), false, err);
});

Deno.test("FITLOOP_BACKEND=cpu opts out of the default", async () => {
  const { out } = await runScript(script, { FITLOOP_BACKEND: "cpu" });
  assertEquals(out.trim(), "cpu");
});

Deno.test("in a Worker: WebGPU or WASM too, and no WebGL stack traces", async () => {
  const worker = `
import * as tf from "@tensorflow/tfjs";
import { fit } from "ROOT/mod.ts";
void fit;
const t = tf.ones([2, 2]);
(self as unknown as { postMessage(m: string): void }).postMessage(tf.getBackend());
t.dispose();
`;
  const main = `
const url = new URL("./worker.ts", import.meta.url);
const w = new Worker(url, { type: "module" });
const backend = await new Promise((resolve) => { w.onmessage = (e) => resolve(e.data); });
w.terminate();
console.log(backend);
`;
  const dir = await Deno.makeTempDir({ dir: new URL(".", root).pathname });
  await Deno.writeTextFile(`${dir}/worker.ts`, worker.replaceAll("ROOT/", root.href));
  await Deno.writeTextFile(`${dir}/main.ts`, main);
  try {
    const { stdout, stderr, code } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--import-map=tests/import_map.json", `${dir}/main.ts`],
      cwd: new URL(".", root).pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(stderr);
    assertEquals(code, 0, err);
    const backend = new TextDecoder().decode(stdout).trim();
    assertNotEquals(backend, "cpu");
    assert(["wasm", "webgpu"].includes(backend), backend);
    assertEquals(/webgl/i.test(err), false, err);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
