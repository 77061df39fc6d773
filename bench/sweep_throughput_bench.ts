// Throughput of one PostgreSQL study run by 1, 2 and 3 worker processes (this machine: 2
// cores). Each row is a fresh study of N trials; the clock runs from starting the workers
// to the last one's exit (process start-up, tfjs and WASM loading included).
//   FITLOOP_TEST_POSTGRES_URL=postgres://… deno run -A bench/sweep_throughput_bench.ts
//     [--trials 12] [--kind sleep|cnn]
// (`eval "$(bash .ci/postgres.sh)"` starts a throw-away server.)
const url = Deno.env.get("FITLOOP_TEST_POSTGRES_URL");
if (!url) {
  console.error('set FITLOOP_TEST_POSTGRES_URL (eval "$(bash .ci/postgres.sh)" starts a server)');
  Deno.exit(2);
}
const arg = (name: string) => {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
};
const n = Number(arg("--trials") ?? 12);
const kinds = arg("--kind") ? [arg("--kind")!] : ["sleep", "cnn"];

console.log(`| trial | workers | trials | wall time | trials / min | trials per worker |`);
console.log(`| --- | --- | --- | --- | --- | --- |`);
for (const kind of kinds) {
  for (const workers of [1, 2, 3]) {
    const study = `throughput-${kind}-${workers}-${crypto.randomUUID().slice(0, 6)}`;
    const t0 = performance.now();
    const outs = await Promise.all(
      Array.from({ length: workers }, () =>
        new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", "bench/sweep_pg_worker.ts", url, study, String(n), kind],
          stdout: "piped",
          stderr: "inherit",
        }).output()),
    );
    const seconds = (performance.now() - t0) / 1000;
    const ran = outs.map((o) =>
      JSON.parse(new TextDecoder().decode(o.stdout).trim()).ran as number
    );
    console.log(
      `| ${kind === "cnn" ? "MNIST CNN, 1 epoch" : "sleep 3 x 300 ms"} | ${workers} | ${n} | ${
        seconds.toFixed(1)
      } s | ${(n / seconds * 60).toFixed(1)} | ${ran.join(" / ")} |`,
    );
  }
}
