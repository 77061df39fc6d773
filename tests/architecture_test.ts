// The architecture, as a test: reads the module graph of every export in deno.json
// (`deno info --json`, type-only imports included) and fails on an import cycle among the
// package's modules and on an import that points up the layers:
//
//   schedules, optim, backend (no loop)  ←  core (the loop)  ←  callbacks  ←  sweep  ←  mod.ts
//
// A module may import its own folder and any folder of a lower layer, nothing else. A
// `_file.ts` is private to the package: it may be imported from another folder (down the
// layers) but never re-exported by a `mod.ts`. If this test fails, the message names the
// edge or the cycle: move the code down a layer, or pass what it needs in from above.
import { assert, assertEquals } from "@std/assert";

const ROOT = new URL("../", import.meta.url);

/** Layer of each area: an import must go to the same or a lower number. */
export const LAYERS: Readonly<Record<string, number>> = {
  schedules: 0,
  optim: 0,
  backend: 0,
  core: 1,
  callbacks: 2,
  sweep: 3,
  ".": 4, // mod.ts
};

/** Which lower areas each area may import beyond its own folder (explicit, for the reader). */
export const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  schedules: [],
  optim: [],
  backend: [],
  core: ["optim", "schedules", "backend"],
  callbacks: ["core", "optim", "schedules", "backend"],
  sweep: ["callbacks", "core", "optim", "schedules", "backend"],
  ".": ["sweep", "callbacks", "core", "optim", "schedules", "backend"],
};

interface Graph {
  readonly edges: Map<string, Set<string>>;
}

async function graphOf(entries: readonly string[]): Promise<Graph> {
  const edges = new Map<string, Set<string>>();
  for (const entry of entries) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--import-map=tests/import_map.json", entry],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(out.success, new TextDecoder().decode(out.stderr));
    const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      modules: {
        specifier: string;
        dependencies?: {
          code?: { specifier?: string };
          type?: { specifier?: string };
        }[];
      }[];
    };
    for (const m of info.modules) {
      const from = local(m.specifier);
      if (!from) continue;
      const set = edges.get(from) ?? new Set<string>();
      edges.set(from, set);
      for (const d of m.dependencies ?? []) {
        for (const target of [d.code?.specifier, d.type?.specifier]) {
          const to = target ? local(target) : undefined;
          if (to && to !== from) set.add(to);
        }
      }
    }
  }
  return { edges };
}

/** The path inside the package of a module of ours, or undefined for npm/jsr/tests. */
function local(specifier: string): string | undefined {
  if (!specifier.startsWith(ROOT.href)) return undefined;
  const path = specifier.slice(ROOT.href.length);
  if (path.startsWith("tests/") || path.startsWith("bench/") || path.startsWith("examples/")) {
    return undefined;
  }
  return path;
}

function areaOf(path: string): string {
  const slash = path.indexOf("/");
  return slash < 0 ? "." : path.slice(0, slash);
}

/** Strongly connected components with more than one module (Tarjan). */
function cycles(edges: Map<string, Set<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    on.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) {
        low.set(v, Math.min(low.get(v)!, idx.get(w)!));
      }
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) found.push(scc.sort());
    }
  };
  for (const v of edges.keys()) if (!idx.has(v)) visit(v);
  return found;
}

const denoJson = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))) as {
  exports: Record<string, string>;
};
const ENTRIES = Object.values(denoJson.exports);
const graph = await graphOf(ENTRIES);

Deno.test("architecture: the graph covers every area", () => {
  const areas = new Set([...graph.edges.keys()].map(areaOf));
  for (const area of Object.keys(LAYERS)) assert(areas.has(area), `no module of '${area}' found`);
  for (const area of areas) {
    assert(area in LAYERS, `folder '${area}' is in no layer: add it to LAYERS and MAY_IMPORT`);
  }
});

Deno.test("architecture: no import cycle among the package's modules", () => {
  assertEquals(cycles(graph.edges), [], "import cycles (type imports included)");
});

Deno.test("architecture: imports only point down the layers", () => {
  const wrong: string[] = [];
  for (const [from, tos] of graph.edges) {
    const a = areaOf(from);
    for (const to of tos) {
      const b = areaOf(to);
      if (a !== b && !MAY_IMPORT[a]?.includes(b)) wrong.push(`${from} -> ${to}`);
    }
  }
  assertEquals(wrong, [], "imports that point up or sideways across the layers");
});

Deno.test("architecture: no mod.ts re-exports a private _file, no loose file at the top", async () => {
  const wrong: string[] = [];
  for (const [from, tos] of graph.edges) {
    if (!from.endsWith("mod.ts")) continue;
    const text = await Deno.readTextFile(new URL(from, ROOT));
    for (const to of tos) {
      const name = to.split("/").at(-1)!;
      if (name.startsWith("_") && new RegExp(`export[^;]*from "[^"]*${name}"`).test(text)) {
        wrong.push(`${from} re-exports ${to}`);
      }
    }
  }
  assertEquals(wrong, []);
  const loose: string[] = [];
  for await (const e of Deno.readDir(ROOT)) {
    if (e.isFile && e.name.endsWith(".ts") && e.name !== "mod.ts") loose.push(e.name);
  }
  assertEquals(loose, [], "TypeScript files loose at the top level");
});

Deno.test("architecture: the checker itself finds a planted cycle and an upward import", () => {
  const planted = new Map<string, Set<string>>([
    ["core/a.ts", new Set(["core/b.ts"])],
    ["core/b.ts", new Set(["core/c.ts"])],
    ["core/c.ts", new Set(["core/a.ts", "callbacks/x.ts"])],
    ["callbacks/x.ts", new Set()],
  ]);
  assertEquals(cycles(planted), [["core/a.ts", "core/b.ts", "core/c.ts"]]);
  assertEquals(MAY_IMPORT[areaOf("core/c.ts")]!.includes(areaOf("callbacks/x.ts")), false);
});
