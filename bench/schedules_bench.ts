// `deno bench`: the cost of one schedule call (no allocation for scalar schedules).
import { annealingCos, annealingLinear, combineScheds, oneCycleScheds } from "../schedules/mod.ts";

const cos = annealingCos(1, 0);
const combined = combineScheds([0.3, 0.7], [annealingLinear(0, 1), annealingCos(1, 0)]);
const { lr, mom } = oneCycleScheds({ lrMax: 1e-2 });
let pct = 0;
const next = () => (pct = pct >= 0.999 ? 0 : pct + 0.001);
let sink = 0;

Deno.bench("annealingCos(pct)", { group: "schedules", baseline: true }, () => {
  sink += cos(next());
});
Deno.bench("combineScheds(2 pieces)(pct)", { group: "schedules" }, () => {
  sink += combined(next());
});
Deno.bench("oneCycleScheds lr + mom (pct)", { group: "schedules" }, () => {
  const p = next();
  sink += lr(p) + mom(p);
});
globalThis.addEventListener("unload", () => sink === -1 && console.log(sink));
