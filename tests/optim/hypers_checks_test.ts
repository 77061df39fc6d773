// Hyper-parameter helpers at their edges: the last group of an lrRange gets exactly `stop`,
// per-group lists are copies, and every refusal names the argument and the value.
import { assertEquals, assertNotStrictEquals, assertThrows } from "@std/assert";
import { lrRange, perGroup, readHyper, resolveLr, setHyper } from "../../optim/hypers.ts";
import { adam } from "../../optim/adam.ts";
import { lamb } from "../../optim/lamb.ts";
import { rmsprop } from "../../optim/rmsprop.ts";
import { sgd } from "../../optim/sgd.ts";

const H = { lr: 1, mom: 0.9, sqrMom: 0.99, eps: 1e-7, wd: 0 };

Deno.test("lrRange(start, stop) gives the last group exactly stop, the others start * r^i", () => {
  // 1e-5 * (3e3 ** (1 / 3)) ** 3 is 0.029999999999999985 in floating point: the last is set
  const lrs = resolveLr(lrRange(1e-5, 3e-2), 4);
  assertEquals(lrs[3], 3e-2);
  const r = (3e-2 / 1e-5) ** (1 / 3);
  assertEquals(lrs.slice(0, 3), [1e-5, 1e-5 * r, 1e-5 * r ** 2]);
  assertEquals(resolveLr(lrRange(1e-6, 1e-2), 6).at(-1), 1e-2);
  assertEquals(resolveLr(lrRange(2e-6, 7e-3), 1), [7e-3]);
  assertEquals(resolveLr(lrRange(7e-3), 1), [7e-3]);
});

Deno.test("lrRange() is a plain record and refuses a start or stop that is not positive", () => {
  assertEquals(lrRange(1e-3), { kind: "lrRange", start: undefined, stop: 1e-3 });
  assertEquals(lrRange(1e-4, 1e-2), { kind: "lrRange", start: 1e-4, stop: 1e-2 });
  for (
    const [args, name, v] of [[[0], "stop", 0], [[-1, 1], "start", -1], [[1, NaN], "stop", NaN], [
      [Infinity, 1],
      "start",
      Infinity,
    ]] as const
  ) {
    assertThrows(
      () => lrRange(...(args as unknown as [number, number])),
      RangeError,
      `Cannot create lrRange as '${name}' must be > 0: current value is ${v}`,
    );
  }
});

Deno.test("perGroup() and resolveLr() copy lists and name the argument and the value", () => {
  const given = [0.1, 0.2];
  const wd = perGroup("wd", given, 2);
  assertEquals(wd, [0.1, 0.2]);
  assertNotStrictEquals(wd, given);
  wd[0] = 9;
  assertEquals(given, [0.1, 0.2]);
  assertEquals(perGroup("wd", 0.5, 3), [0.5, 0.5, 0.5]);
  assertThrows(
    () => resolveLr([1, 2], 3),
    RangeError,
    "Cannot fit as 'lr' has 2 values for 3 layer groups: expected one per group",
  );
  assertThrows(
    () => perGroup("wd", [1, 2, 3], 2),
    RangeError,
    "'wd' has 3 values for 2 layer groups",
  );
  assertThrows(
    () => perGroup("wd", NaN, 2),
    RangeError,
    "Cannot fit as 'wd' must be finite: current value is NaN",
  );
  assertThrows(
    () => perGroup("wd", [0, Infinity], 2),
    RangeError,
    "Cannot fit as 'wd[1]' must be finite: current value is Infinity",
  );
});

Deno.test("setHyper() and readHyper() name the key, the group and the value they refuse", () => {
  const hs = [H, { ...H, lr: 2 }];
  for (const bad of [NaN, "0.1" as unknown as number, undefined as unknown as number]) {
    assertThrows(
      () => setHyper(hs, "mom", [0.5, bad]),
      RangeError,
      `Cannot set hyper-parameter 'mom' of layer group 1 as it must be a number: current value is ${bad}`,
    );
  }
  assertThrows(
    () => setHyper(hs, "wd", NaN),
    RangeError,
    "of layer group 0 as it must be a number",
  );
  assertThrows(
    () => setHyper(hs, "lr", [1]),
    RangeError,
    "Cannot set hyper-parameter 'lr' with 1 values for 2 layer groups: the lengths must match",
  );
  assertThrows(
    () => readHyper(hs, "beta"),
    RangeError,
    "Cannot read hyper-parameter 'beta' as layer group 0 has none: it has lr, mom, sqrMom, eps, wd",
  );
});

Deno.test("the optimizers' names and documented defaults, and options that replace them", () => {
  assertEquals([sgd().name, sgd().defaults], ["sgd", { mom: 0, sqrMom: 0, eps: 0 }]);
  assertEquals([adam().name, adam().defaults], ["adam", { mom: 0.9, sqrMom: 0.999, eps: 1e-7 }]);
  assertEquals(rmsprop().name, "rmsprop");
  assertEquals([rmsprop().defaults.mom, rmsprop().defaults.sqrMom, rmsprop().defaults.eps], [
    0,
    0.9,
    1e-7,
  ]);
  assertEquals([lamb().name, lamb().defaults], ["lamb", { mom: 0.9, sqrMom: 0.99, eps: 1e-6 }]);
  assertEquals(lamb({ mom: 0.8, sqrMom: 0.95, eps: 1e-8 }).defaults, {
    mom: 0.8,
    sqrMom: 0.95,
    eps: 1e-8,
  });
  assertEquals(lamb({ mom: 0, sqrMom: 0, eps: 0 }).defaults, { mom: 0, sqrMom: 0, eps: 0 });
  assertEquals(adam({ mom: 0, sqrMom: 0.5, eps: 0 }).defaults, { mom: 0, sqrMom: 0.5, eps: 0 });
  assertEquals(sgd({ mom: 0.9 }).defaults.mom, 0.9);
});
