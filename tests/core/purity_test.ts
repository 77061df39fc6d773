// The pure core must not load tfjs at run time: the handler, the state, callback records,
// logs and schedules are usable (and tested) without it. Follows every value import
// (type-only imports are erased) from these entry points.
import { assertEquals } from "@std/assert";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

function valueImports(source: string): string[] {
  const found: string[] = [];
  const re = /^\s*(import|export)\s+(?!type\b)([^'";]*?\bfrom\s+)?["']([^"']+)["']/gm;
  for (const m of source.matchAll(re)) {
    const clause = m[2] ?? "";
    // `import { type A, type B } from` is erased too
    const names = clause.match(/\{([^}]*)\}/)?.[1];
    if (names && names.split(",").every((n) => n.trim() === "" || n.trim().startsWith("type "))) {
      continue;
    }
    found.push(m[3]!);
  }
  return found;
}

function reachesTfjs(file: string, seen = new Set<string>()): string | undefined {
  if (seen.has(file)) return undefined;
  seen.add(file);
  for (const spec of valueImports(Deno.readTextFileSync(file))) {
    if (!spec.startsWith(".")) return `${file.slice(ROOT.length + 1)} imports ${spec}`;
    const hit = reachesTfjs(join(dirname(file), spec), seen);
    if (hit) return hit;
  }
  return undefined;
}

Deno.test("the handler, state, callback records, logs, the event order, dryRun and schedules import no tfjs", () => {
  for (
    const entry of [
      "core/handler.ts",
      "core/state.ts",
      "core/callback.ts",
      "core/log.ts",
      "core/_run.ts",
      "core/dry_run.ts",
      "schedules/mod.ts",
    ]
  ) {
    assertEquals(reachesTfjs(join(ROOT, entry)), undefined, entry);
  }
});

Deno.test("the import scan does see a value import of tfjs", () => {
  assertEquals(reachesTfjs(join(ROOT, "core/fit.ts"))?.includes("@tensorflow/tfjs"), true);
});
