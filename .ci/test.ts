// The test task (`deno task test`): format, lint, type check, unit tests, doc tests,
// `deno doc --lint` and `deno publish --dry-run`, in that order. Tests use jsr:@std/assert
// when jsr.io answers, else the offline stand-in in tests/_assert through
// tests/import_map.json. Ends with one line: "N passed, N failed".

// every export of deno.json: the root and each area's mod.ts
const ENTRY: string[] = Object.values(
  (JSON.parse(await Deno.readTextFile("deno.json")) as { exports: Record<string, string> }).exports,
).map((p) => p.replace(/^\.\//, ""));
const AREAS = ENTRY.filter((p) => p !== "mod.ts").map((p) => p.replace(/\/mod\.ts$/, "/"));
const env = { NO_COLOR: "1" };

async function run(args: string[], capture = false): Promise<{ ok: boolean; out: string }> {
  console.log(`\n$ deno ${args.join(" ")}`);
  const child = new Deno.Command(Deno.execPath(), {
    args,
    env,
    stdout: capture ? "piped" : "inherit",
    stderr: capture ? "piped" : "inherit",
  }).spawn();
  if (!capture) return { ok: (await child.status).success, out: "" };
  const decoder = new TextDecoder();
  let out = "";
  const pump = async (stream: ReadableStream<Uint8Array>, sink: typeof Deno.stdout) => {
    for await (const chunk of stream) {
      out += decoder.decode(chunk, { stream: true });
      await sink.write(chunk);
    }
  };
  await Promise.all([pump(child.stdout, Deno.stdout), pump(child.stderr, Deno.stderr)]);
  return { ok: (await child.status).success, out };
}

async function jsrReachable(): Promise<boolean> {
  try {
    const r = await fetch("https://jsr.io/@std/assert/meta.json", {
      signal: AbortSignal.timeout(5000),
    });
    await r.body?.cancel();
    return r.ok;
  } catch {
    return false;
  }
}

function counts(out: string): { passed: number; failed: number } {
  const m = [...out.matchAll(/\|\s*(\d+) passed(?:\s*\(\d+ steps?\))?\s*\|\s*(\d+) failed/g)].at(
    -1,
  );
  return m ? { passed: Number(m[1]), failed: Number(m[2]) } : { passed: 0, failed: 0 };
}

const online = await jsrReachable();
const map = online ? [] : ["--import-map=tests/import_map.json"];
console.log(
  online
    ? "jsr.io reachable: using jsr:@std/assert"
    : "jsr.io unreachable: using tests/_assert (offline @std/assert)",
);

let passed = 0;
let failed = 0;
const broken: string[] = [];
const step = async (name: string, args: string[]): Promise<void> => {
  const r = await run(args);
  if (!r.ok) broken.push(name);
};

await step("fmt", ["fmt", "--check"]);
await step("lint", ["lint"]);
await step("check", ["check", ...map, ...ENTRY, "tests/", "examples/", "bench/"]);
for (
  const [name, args] of [
    ["unit tests", ["test", "-A", ...map, "tests/"]],
    ["doc tests", [
      "test",
      "-A",
      "--doc",
      ...map,
      "mod.ts",
      ...AREAS,
      "README.md",
    ]],
  ] as const
) {
  const r = await run([...args], true);
  const c = counts(r.out);
  passed += c.passed;
  failed += c.failed;
  if (!r.ok) {
    broken.push(name);
    if (c.failed === 0) failed += 1; // a run that failed before counting is one failure
  }
}
await step("doc lint", ["doc", "--lint", ...ENTRY]);
await step("publish dry-run", ["publish", "--dry-run", "--allow-dirty"]);

if (broken.length > 0) console.log(`\nfailed steps: ${broken.join(", ")}`);
console.log(`${passed} passed, ${failed + (broken.length > 0 && failed === 0 ? 1 : 0)} failed`);
Deno.exit(broken.length === 0 ? 0 : 1);
