import { assertEquals, assertThrows } from "@std/assert";
import { appendLog, emptyLog, isLog, logAt, logOf, logToArray } from "../../core/log.ts";

Deno.test("appendLog() keeps every version of one line of appends", () => {
  const a = appendLog(emptyLog<number>(), 1);
  const b = appendLog(a, 2);
  const c = appendLog(b, 3);
  assertEquals([logToArray(a), logToArray(b), logToArray(c)], [[1], [1, 2], [1, 2, 3]]);
  assertEquals([a.last, c.last, emptyLog<number>().last], [1, 3, undefined]);
});

Deno.test("appendLog() on an older version copies, so forks never see each other", () => {
  const a = appendLog(appendLog(emptyLog<string>(), "x"), "y");
  const left = appendLog(a, "left");
  const right = appendLog(a, "right");
  assertEquals(logToArray(left), ["x", "y", "left"]);
  assertEquals(logToArray(right), ["x", "y", "right"]);
  assertEquals(logToArray(a), ["x", "y"]);
});

Deno.test("a log is frozen and its items are out of reach: history cannot be rewritten", () => {
  const a = appendLog(appendLog(emptyLog<number>(), 1), 2);
  assertEquals(Object.isFrozen(a), true);
  assertThrows(() => {
    (a as { length: number }).length = 0;
  }, TypeError);
  // the array a caller gets is a copy
  const items = logToArray(a);
  items[0] = 99;
  assertEquals(logToArray(a), [1, 2]);
  assertEquals(Object.keys(a).sort(), ["last", "length"]);
});

Deno.test("logOf(), logAt() and isLog()", () => {
  const source = [1, 2, 3];
  const log = logOf(source);
  source[0] = 7;
  assertEquals(logToArray(log), [1, 2, 3]);
  assertEquals([logAt(log, 0), logAt(log, -1), logAt(log, 3)], [1, 3, undefined]);
  assertEquals([isLog(log), isLog({ length: 3, last: 3 }), isLog(null)], [true, false, false]);
  assertThrows(() => logToArray({ length: 1, last: 1 }), TypeError, "not made by");
});
