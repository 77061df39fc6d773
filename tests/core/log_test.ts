import { assertEquals } from "@std/assert";
import { appendLog, emptyLog, logToArray } from "../../core/log.ts";

Deno.test("appendLog() shares the backing array along one line of versions", () => {
  const a = appendLog(emptyLog<number>(), 1);
  const b = appendLog(a, 2);
  const c = appendLog(b, 3);
  assertEquals(c.items === a.items, true);
  assertEquals([logToArray(a), logToArray(b), logToArray(c)], [[1], [1, 2], [1, 2, 3]]);
});

Deno.test("appendLog() on an older version copies, so forks never see each other", () => {
  const a = appendLog(appendLog(emptyLog<string>(), "x"), "y");
  const left = appendLog(a, "left");
  const right = appendLog(a, "right");
  assertEquals(logToArray(left), ["x", "y", "left"]);
  assertEquals(logToArray(right), ["x", "y", "right"]);
  assertEquals(logToArray(a), ["x", "y"]);
});

Deno.test("appendLog() copies a frozen backing array instead of pushing into it", () => {
  const a = appendLog(emptyLog<number>(), 1);
  Object.freeze(a.items);
  const b = appendLog(a, 2);
  assertEquals(logToArray(b), [1, 2]);
  assertEquals(a.items.length, 1);
});
