// Deep freezing of the plain data a state holds (objects and arrays), stopping at anything
// already frozen and at everything else (tensors, typed arrays, class instances): what a
// hook finds in the state cannot be changed by assignment.

import { isLog } from "./log.ts";

/** Freezes plain objects and arrays, deeply, stopping at frozen ones; returns `value`. */
export function freezePlain<T>(value: T): T {
  if (value === null || typeof value !== "object" || isLog(value) || Object.isFrozen(value)) {
    return value;
  }
  if (!Array.isArray(value)) {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return value;
  }
  Object.freeze(value);
  for (const v of Object.values(value)) freezePlain(v);
  return value;
}
