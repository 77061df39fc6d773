// Every runnable example in the library's JSDoc asserts something: an example that only
// runs cannot fail when what it shows stops being true. Scans each area's source files
// (the files `deno test --doc` runs) for ```ts blocks without an assert call.
import { assertEquals } from "@std/assert";

const ROOT = new URL("../", import.meta.url);
const AREAS = ["core", "callbacks", "schedules", "optim", "backend", "sweep"];

/** The ```ts blocks of a source file's comments, with their line numbers. */
export function examplesOf(source: string): { line: number; code: string }[] {
  const out: { line: number; code: string }[] = [];
  for (const m of source.matchAll(/```ts\n([\s\S]*?)```/g)) {
    const code = m[1]!.split("\n").map((l) => l.replace(/^\s*\*\s?/, "")).join("\n");
    out.push({ line: source.slice(0, m.index).split("\n").length, code });
  }
  return out;
}

/** Whether an example calls an assertion (assert, assertEquals, assertRejects, ...). */
export function asserts(code: string): boolean {
  return /\bassert\w*\s*\(/.test(code);
}

Deno.test("every JSDoc example asserts something", async () => {
  const silent: string[] = [];
  let seen = 0;
  const files = ["mod.ts"];
  for (const area of AREAS) {
    for await (const e of Deno.readDir(new URL(`${area}/`, ROOT))) {
      if (e.isFile && e.name.endsWith(".ts")) files.push(`${area}/${e.name}`);
    }
  }
  for (const file of files.sort()) {
    for (const { line, code } of examplesOf(await Deno.readTextFile(new URL(file, ROOT)))) {
      seen++;
      if (!asserts(code)) silent.push(`${file}:${line}`);
    }
  }
  assertEquals(silent, []);
  assertEquals(seen > 100, true, `only ${seen} examples found: is the scan broken?`);
});

Deno.test("the example scan finds a silent example and accepts an asserting one", () => {
  const source = [
    "/**",
    " * @example",
    " * ```ts",
    " * const x = 1;",
    " * ```",
    " * @example",
    " * ```ts",
    ' * import { assertEquals } from "@std/assert";',
    " * assertEquals(1 + 1, 2);",
    " * ```",
    " */",
  ].join("\n");
  const found = examplesOf(source);
  assertEquals(found.map((e) => e.line), [3, 7]);
  assertEquals(found.map((e) => asserts(e.code)), [false, true]);
});
