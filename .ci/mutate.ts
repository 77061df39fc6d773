// Mutation testing (`deno task mutate`, not part of `deno task test`): StrykerJS mutates
// each pure module (operators, constants, conditions, statements, ...) and runs the tests
// that mirror it, once per mutant, through its command runner (`deno test ...`). A mutant
// the tests do not notice "survives": a change to the code that no test can see.
//
//   deno task mutate                      every module below
//   deno task mutate handler sweep/       only modules whose path contains one of these
//   deno task mutate --concurrency=2      mutants tested in parallel (default 1)
//
// Works on a copy of the working tree in a temporary directory (Stryker then makes its own
// sandbox inside it), so no mutant can be left behind in the repository. Stryker comes
// from npm through Deno (no Node needed) and is fetched on the first run. Per module it
// prints the score, (killed + timed out) / (every mutant that ran), and the score without
// the survivors listed in EQUIVALENT below (read by hand: no test can tell them apart).
// The table and every survivor, with line and replacement, go to bench/out/mutation.md;
// Stryker's JSON reports to bench/out/mutation/.

/** Pinned: the command runner and the JSON report format are what this script reads. */
const STRYKER = "npm:@stryker-mutator/core@9.6.1/stryker";

/**
 * The modules to mutate. `files` may end in `*.ts` (each file of the folder, mod.ts and
 * type-only files skipped when they hold no mutant). `tests` are the test files run for
 * each mutant; without it, the mirror: every test file under tests/<area>/ that imports
 * the module (or the area's mod.ts), or every test file of the area for a private
 * `_file.ts`. The module's own JSDoc examples always run too. Edit freely.
 */
const MODULES: readonly { readonly files: string; readonly tests?: readonly string[] }[] = [
  {
    files: "core/handler.ts",
    tests: [
      "tests/core/handler_test.ts",
      "tests/core/handler_checks_test.ts",
      "tests/core/handler_messages_test.ts",
      "tests/core/callback_test.ts",
      "tests/core/async_hooks_test.ts",
    ],
  },
  {
    files: "core/state.ts",
    tests: ["tests/core/state_test.ts", "tests/core/initial_state_test.ts"],
  },
  {
    files: "core/callback.ts",
    tests: [
      "tests/core/handler_test.ts",
      "tests/core/handler_messages_test.ts",
      "tests/core/callback_test.ts",
    ],
  },
  { files: "core/_run.ts", tests: ["tests/core/run_test.ts", "tests/core/dry_run_test.ts"] },
  { files: "schedules/*.ts" },
  { files: "optim/*.ts" },
  {
    files: "callbacks/tracker.ts",
    tests: ["tests/callbacks/tracker_test.ts", "tests/callbacks/trackers_test.ts"],
  },
  // the pruners' decisions (median and ASHA) live in sweep/_decisions.ts
  {
    files: "sweep/_decisions.ts",
    tests: ["tests/sweep/ranking_test.ts", "tests/sweep/sweep_test.ts"],
  },
  { files: "sweep/search_space.ts" },
];

/**
 * Survivors read by hand and found equivalent: no test can tell them from the original
 * (the program behaves the same). Matched by mutator, the source line (trimmed) and the
 * replacement, not by file or line number, so they survive code moving around; a line
 * that changes shows its survivors as unexplained again.
 */
const EQUIVALENT: readonly {
  readonly file: string;
  readonly mutator: string;
  readonly line: string;
  readonly replacement: string;
  readonly why: string;
}[] = [
  {
    file: "core/_run.ts",
    mutator: "ConditionalExpression",
    line: "if (pause) await pause;",
    replacement: "true",
    why: "awaiting undefined only adds a microtask",
  },
  {
    file: "core/handler.ts",
    mutator: "ArithmeticOperator",
    line: ".sort((a, b) => (a.cb.order ?? 0) - (b.cb.order ?? 0) || a.i - b.i)",
    replacement: "a.i + b.i",
    why: "Array.prototype.sort is stable and V8 compares a later element against an earlier " +
      "one, so a positive tie-break keeps the given order (checked up to 300 elements)",
  },
  {
    file: "core/handler.ts",
    mutator: "ArrayDeclaration",
    line: "for (const cb of callbacks) for (const m of cb.addsMetrics ?? []) added.add(m);",
    replacement: '["Stryker was here"]',
    why: "only adds a metric named 'Stryker was here' to the known names; no fit monitors it",
  },
  {
    file: "core/handler.ts",
    mutator: "ConditionalExpression",
    line: 'if (key === "lastMetrics" || key === "metricNames") {',
    replacement: "true",
    why: "the only other array a hook may set is a multi-input lastInput, and a frozen copy " +
      "of that list holds the same tensors",
  },
  {
    file: "core/handler.ts",
    mutator: "ConditionalExpression",
    line: "if (value === state.hypers) return value;",
    replacement: "false",
    why:
      "a shortcut: the loop below skips every unchanged record and returns the same frozen array",
  },
  {
    file: "core/handler.ts",
    mutator: "EqualityOperator",
    line: "for (let i = 0; i < value.length; i++) {",
    replacement: "i <= value.length",
    why: "the extra index reads undefined on both sides, which the unchanged-record test skips",
  },
  {
    file: "core/handler.ts",
    mutator: "ConditionalExpression",
    line: "if (h === before) continue;",
    replacement: "false",
    why: "a shortcut: the record already in the state passed these checks when it came in",
  },
  {
    file: "core/handler.ts",
    mutator: "UpdateOperator",
    line: "count++;",
    replacement: "count--",
    why: "count only decides whether to look for a missing key; the search finds none when " +
      "none is missing",
  },
  {
    file: "core/handler.ts",
    mutator: "ConditionalExpression",
    line: "if (count < _keyCount(before)) {",
    replacement: "true",
    why: "a shortcut before the search for a missing key, which finds none when none is missing",
  },
  {
    file: "core/handler.ts",
    mutator: "EqualityOperator",
    line: "if (count < _keyCount(before)) {",
    replacement: "count <= _keyCount(before)",
    why: "a shortcut before the search for a missing key, which finds none when none is missing",
  },
  {
    file: "core/handler.ts",
    mutator: "ConditionalExpression",
    line: "if (missing !== undefined) {",
    replacement: "true",
    why: "reached only when the record has fewer keys than before, so a key is missing",
  },
  {
    file: "core/handler.ts",
    mutator: "ConditionalExpression",
    line: "if (n === undefined) {",
    replacement: "true",
    why: "a cache of a frozen record's key count: recounting gives the same number",
  },
  {
    file: "schedules/one_cycle_scheds.ts",
    mutator: "EqualityOperator",
    line: "return (i: number): number => (i <= rise ? up(i) : down(i - rise));",
    replacement: "i < rise",
    why: "at i = rise both halves give the peak: the rise's end and the fall's start",
  },
  {
    file: "sweep/search_space.ts",
    mutator: "ConditionalExpression",
    line: "if (cached?.space !== space) cached = { space, rows: plan(space) };",
    replacement: "true",
    why: "a cache: planning the same space again gives the same rows",
  },
  {
    file: "core/handler.ts",
    mutator: "ConditionalExpression",
    line: 'if (typeof v !== "number" || !Number.isFinite(v)) {',
    replacement: "false",
    why: "Number.isFinite is false for every non-number, so the second test alone refuses them",
  },
  {
    file: "schedules/one_cycle_scheds.ts",
    mutator: "MethodExpression",
    line: 'const lrMaxes = typeof lrMax === "number" ? [lrMax] : lrMax.slice();',
    replacement: "lrMax",
    why: "the per-group schedules are built from the list at once, so a later change to the " +
      "caller's list cannot reach them (tested)",
  },
  {
    file: "optim/hypers.ts",
    mutator: "ConditionalExpression",
    line: "if (nGroups === 1) return [stop];",
    replacement: "false",
    why: "with one group the general branches also return [stop] (the last group gets stop)",
  },
  {
    file: "optim/optimizer.ts",
    mutator: "StringLiteral",
    line: "const v = tf.variable(t, false, `${name}/${optimizer.name}_slot${i}_${_uid()}`);",
    replacement: "``",
    why: "an empty name makes tfjs pick a unique one; slot names are labels only",
  },
  {
    file: "optim/optimizer.ts",
    mutator: "ConditionalExpression",
    line: "if (h.wd !== 0 && p.decay) {",
    replacement: "true",
    why: "with wd 0, w * (1 - lr * 0) and g + w * 0 are exactly w and g",
  },
  {
    file: "optim/optimizer.ts",
    mutator: "ConditionalExpression",
    line: "if (next.param !== p.variable) p.variable.assign(next.param);",
    replacement: "true",
    why: "assigning a variable its own value changes nothing",
  },
  {
    file: "optim/optimizer.ts",
    mutator: "EqualityOperator",
    line: "for (let i = 0; i < slots.length; i++) {",
    replacement: "i <= slots.length",
    why: "the extra index compares undefined with undefined and assigns nothing",
  },
  {
    file: "optim/optimizer.ts",
    mutator: "ConditionalExpression",
    line: "for (const v of slots) if (!v.isDisposed) v.dispose();",
    replacement: "true",
    why: "tfjs's dispose of a disposed variable is a no-op (a test disposes a state twice)",
  },
  {
    file: "optim/optimizer.ts",
    mutator: "MethodExpression",
    line: "tf.tensor(slot.values.slice(), slot.shape.slice()),",
    replacement: "slot.values",
    why: "tf.tensor copies the values into its own typed array",
  },
  {
    file: "optim/optimizer.ts",
    mutator: "MethodExpression",
    line: "tf.tensor(slot.values.slice(), slot.shape.slice()),",
    replacement: "slot.shape",
    why: "a tfjs Tensor keeps a copy of the shape it is given",
  },
  {
    file: "optim/optimizer.ts",
    mutator: "StringLiteral",
    line: "`${name}/slot${i}_${_uid()}`,",
    replacement: "``",
    why: "an empty name makes tfjs pick a unique one; slot names are labels only",
  },
  {
    file: "optim/optimizer.ts",
    mutator: "UpdateOperator",
    line: "return ++_counter;",
    replacement: "--_counter",
    why: "decreasing ids are as unique as increasing ones",
  },
  {
    file: "schedules/combine_scheds.ts",
    mutator: "EqualityOperator",
    line: "if (Math.abs(sum - 1) > 1e-9) {",
    replacement: "Math.abs(sum - 1) >= 1e-9",
    why: "sum - 1 is a multiple of 2^-53 near 1 and the double 1e-9 is not: never equal",
  },
  {
    file: "schedules/piecewise.ts",
    mutator: "ConditionalExpression",
    line: "while (i < boundaries.length && pct >= boundaries[i]!) i++;",
    replacement: "true",
    why: "past the last boundary, pct >= undefined is false and the loop stops there anyway",
  },
  {
    file: "schedules/piecewise.ts",
    mutator: "EqualityOperator",
    line: "while (i < boundaries.length && pct >= boundaries[i]!) i++;",
    replacement: "i <= boundaries.length",
    why: "past the last boundary, pct >= undefined is false and the loop stops there anyway",
  },
  {
    file: "schedules/simulate.ts",
    mutator: "ArrayDeclaration",
    line: "const out: T[] = new Array(n);",
    replacement: "new Array()",
    why: "the array is filled from 0 to n - 1 either way",
  },
  {
    file: "sweep/_decisions.ts",
    mutator: "ConditionalExpression",
    line: "if (value === undefined) return false;",
    replacement: "false",
    why:
      "undefined is not NaN, and undefined > x and undefined < x are false: not pruned either way",
  },
  {
    file: "sweep/_decisions.ts",
    mutator: "ConditionalExpression",
    line: "if (value === undefined || Number.isNaN(value)) return value !== undefined;",
    replacement: "false",
    why:
      "undefined is not NaN, and undefined > x and undefined < x are false: not pruned either way",
  },
  {
    file: "sweep/search_space.ts",
    mutator: "ConditionalExpression",
    line: 'return typeof value === "object" && value !== null &&',
    replacement: "true",
    why: "for null the kind read through ?. is undefined, which is no dimension's kind",
  },
  {
    file: "sweep/search_space.ts",
    mutator: "ArithmeticOperator",
    line: "return d.values[Math.min(d.values.length - 1, Math.floor(rand() * d.values.length))];",
    replacement: "d.values.length + 1",
    why: "rand() < 1, so floor(rand() * n) <= n - 1 already: the guard never binds",
  },
];

/** Test files never run per mutant: they start Workers or processes and take minutes. */
const SLOW = ["tests/sweep/sweep_test.ts", "tests/examples/", "tests/backend/"];

/** Milliseconds a mutant's tests may run beyond 1.5x the unmutated run (then: a timeout, counted as killed). */
const TIMEOUT_MS = 10_000;

interface Mutant {
  readonly id: string;
  readonly mutatorName: string;
  readonly replacement?: string;
  readonly status: string;
  readonly location: {
    readonly start: { line: number; column: number };
    readonly end: { line: number; column: number };
  };
}

interface Report {
  readonly files: Readonly<
    Record<string, { readonly source: string; readonly mutants: readonly Mutant[] }>
  >;
}

interface Row {
  readonly file: string;
  readonly tests: readonly string[];
  readonly counts: Readonly<Record<string, number>>;
  /** Survivors not known to be equivalent. */
  readonly survivors: readonly string[];
  /** Survivors known to be equivalent, with the reason. */
  readonly equivalent: readonly string[];
  readonly seconds: number;
  readonly failure?: string;
}

const root = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const args = Deno.args.filter((a) => !a.startsWith("--"));
const concurrency = Number(
  Deno.args.find((a) => a.startsWith("--concurrency="))?.split("=")[1] ?? 1,
);

async function run(
  cmd: string,
  argv: string[],
  cwd: string,
): Promise<{ ok: boolean; out: string }> {
  const r = await new Deno.Command(cmd, { args: argv, cwd, stdout: "piped", stderr: "piped" })
    .output();
  const d = new TextDecoder();
  return { ok: r.success, out: d.decode(r.stdout) + d.decode(r.stderr) };
}

/** The files of the working tree (tracked, and untracked but not ignored). */
async function treeFiles(): Promise<string[]> {
  const r = await run("git", ["ls-files", "-co", "--exclude-standard", "-z"], root);
  if (!r.ok) throw new Error(`git ls-files failed: ${r.out}`);
  return r.out.split("\0").filter((f) => f && !f.includes("\n"));
}

async function copyTree(to: string): Promise<void> {
  for (const f of await treeFiles()) {
    try {
      const dir = `${to}/${f}`.replace(/\/[^/]*$/, "");
      await Deno.mkdir(dir, { recursive: true });
      await Deno.copyFile(`${root}/${f}`, `${to}/${f}`);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e; // deleted, not yet committed
    }
  }
}

function expand(pattern: string, files: readonly string[]): string[] {
  if (!pattern.endsWith("*.ts")) return files.includes(pattern) ? [pattern] : [];
  const dir = pattern.slice(0, -"*.ts".length);
  return files
    .filter((f) => f.startsWith(dir) && f.endsWith(".ts") && !f.slice(dir.length).includes("/"))
    .filter((f) => !f.endsWith("/mod.ts"))
    .sort();
}

async function mirrorTests(file: string, files: readonly string[]): Promise<string[]> {
  const area = file.split("/")[0]!;
  const name = file.split("/").pop()!;
  const candidates = files.filter((f) =>
    f.startsWith(`tests/${area}/`) && f.endsWith("_test.ts") && !SLOW.some((s) => f.startsWith(s))
  );
  if (name.startsWith("_")) return candidates;
  const out: string[] = [];
  for (const t of candidates) {
    const text = await Deno.readTextFile(`${root}/${t}`);
    if (text.includes(`/${file}"`) || text.includes(`/${area}/mod.ts"`)) out.push(t);
  }
  return out;
}

function original(source: string, m: Mutant): string {
  const lines = source.split("\n");
  const { start, end } = m.location;
  if (start.line === end.line) {
    return lines[start.line - 1]!.slice(start.column - 1, end.column - 1);
  }
  return lines[start.line - 1]!.slice(start.column - 1) + " …";
}

const oneLine = (s: string, n = 70): string => {
  const t = s.replace(/\s+/g, " ").trim();
  return t.length > n ? `${t.slice(0, n - 1)}…` : t;
};

async function mutateOne(file: string, tests: readonly string[], work: string): Promise<Row> {
  const started = performance.now();
  const safe = file.replace(/[/.]/g, "_");
  const report = `${work}/reports/${safe}.json`;
  const command = [
    "deno test -A --no-check --fail-fast --import-map=tests/import_map.json",
    `--doc ${file}`,
    ...tests,
  ].join(" ");
  const config = {
    testRunner: "command",
    commandRunner: { command },
    mutate: [file],
    plugins: [], // no plugin discovery (it looks for a node_modules folder)
    concurrency,
    coverageAnalysis: "off",
    timeoutMS: TIMEOUT_MS,
    reporters: ["json"],
    jsonReporter: { fileName: report },
    tempDirName: ".stryker-tmp",
    cleanTempDir: true,
    allowEmpty: true,
    logLevel: "warn",
  };
  await Deno.writeTextFile(`${work}/stryker-${safe}.json`, JSON.stringify(config, null, 2));
  const r = await run(Deno.execPath(), [
    "run",
    "-A",
    "--no-lock",
    STRYKER,
    "run",
    `stryker-${safe}.json`,
  ], work);
  const seconds = (performance.now() - started) / 1000;
  let data: Report;
  try {
    data = JSON.parse(await Deno.readTextFile(report));
  } catch {
    return {
      file,
      tests,
      counts: {},
      survivors: [],
      equivalent: [],
      seconds,
      failure: oneLine(r.out.slice(-600), 300),
    };
  }
  const counts: Record<string, number> = {};
  const survivors: string[] = [];
  const equivalent: string[] = [];
  for (const [path, f] of Object.entries(data.files)) {
    const lines = f.source.split("\n");
    for (const m of f.mutants) {
      counts[m.status] = (counts[m.status] ?? 0) + 1;
      if (m.status !== "Survived" && m.status !== "NoCoverage") continue;
      const text = `${path}:${m.location.start.line}:${m.location.start.column} ` +
        `${m.mutatorName}: \`${oneLine(original(f.source, m))}\` → ` +
        `\`${oneLine(m.replacement ?? "")}\``;
      const line = lines[m.location.start.line - 1]!.trim();
      const known = EQUIVALENT.find((e) =>
        e.mutator === m.mutatorName && e.line === line && e.replacement === m.replacement
      );
      if (known) equivalent.push(`${text} — equivalent: ${known.why}`);
      else survivors.push(text);
    }
  }
  await Deno.mkdir(`${root}/bench/out/mutation`, { recursive: true });
  await Deno.copyFile(report, `${root}/bench/out/mutation/${safe}.json`);
  return { file, tests, counts, survivors, equivalent, seconds };
}

function score(c: Readonly<Record<string, number>>): { detected: number; valid: number } {
  const detected = (c.Killed ?? 0) + (c.Timeout ?? 0);
  return { detected, valid: detected + (c.Survived ?? 0) + (c.NoCoverage ?? 0) };
}

const pct = (a: number, b: number): string => (b ? `${((100 * a) / b).toFixed(1)} %` : "–");

async function main(): Promise<number> {
  const files = await treeFiles();
  const targets: { file: string; tests: string[] }[] = [];
  for (const m of MODULES) {
    for (const file of expand(m.files, files)) {
      if (args.length && !args.some((a) => file.includes(a))) continue;
      const tests = (m.tests ?? await mirrorTests(file, files)).filter((t) => files.includes(t));
      targets.push({ file, tests });
    }
  }
  if (!targets.length) {
    console.error(`No module matches ${args.join(", ")}`);
    return 2;
  }
  const work = await Deno.makeTempDir({ prefix: "fitloop-mutate-" });
  console.log(`Copying the working tree to ${work}`);
  await copyTree(work);
  const rows: Row[] = [];
  try {
    for (const t of targets) {
      const row = await mutateOne(t.file, t.tests, work);
      rows.push(row);
      const { detected, valid } = score(row.counts);
      console.log(
        row.failure
          ? `${t.file}: Stryker failed: ${row.failure}`
          : `${t.file}: ${detected}/${valid} killed (${pct(detected, valid)}), ` +
            `${row.equivalent.length} equivalent, ${row.survivors.length} unexplained, ` +
            `${row.seconds.toFixed(0)} s — tests: ${t.tests.join(" ") || "(doc examples only)"}`,
      );
    }
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
  const lines = [
    "| module | mutants | killed | timeout | survived | of which equivalent | score | score without equivalents | time |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  const all = { detected: 0, valid: 0, equivalent: 0 };
  for (const r of rows) {
    const c = r.counts;
    const { detected, valid } = score(c);
    const eq = r.equivalent.length;
    all.detected += detected;
    all.valid += valid;
    all.equivalent += eq;
    const total = Object.values(c).reduce((a, b) => a + b, 0);
    lines.push(
      r.failure
        ? `| ${r.file} | – | – | – | – | – | failed | | ${r.seconds.toFixed(0)} s |`
        : `| ${r.file} | ${total} | ${c.Killed ?? 0} | ${c.Timeout ?? 0} | ${valid - detected} | ` +
          `${eq} | ${pct(detected, valid)} | ${pct(detected, valid - eq)} | ` +
          `${r.seconds.toFixed(0)} s |`,
    );
  }
  lines.push(
    `| **all** | | | | | ${all.equivalent} | **${pct(all.detected, all.valid)}** | ` +
      `**${pct(all.detected, all.valid - all.equivalent)}** | |`,
  );
  const survivors = rows.flatMap((r) => r.survivors.map((s) => `- ${s}`));
  const equivalent = rows.flatMap((r) => r.equivalent.map((s) => `- ${s}`));
  const md = [
    `Mutation testing (StrykerJS 9.6.1, command runner) — ${new Date().toISOString()}`,
    "",
    ...lines,
    "",
    `Unexplained survivors (${survivors.length}):`,
    "",
    ...survivors,
    "",
    `Equivalent survivors (${equivalent.length}):`,
    "",
    ...equivalent,
    "",
  ].join("\n");
  await Deno.mkdir(`${root}/bench/out`, { recursive: true });
  await Deno.writeTextFile(`${root}/bench/out/mutation.md`, md);
  console.log(`\n${lines.join("\n")}\n\nSurvivors and the table: bench/out/mutation.md`);
  return rows.some((r) => r.failure) ? 1 : 0;
}

Deno.exit(await main());
