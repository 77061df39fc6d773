// Argument checks shared by the schedule constructors. Messages follow the house form:
// "Cannot <do what> as '<arg>' must be <expected>: current value is <value>".

/** Throws a RangeError unless `value` is a finite number. */
export function _finite(what: string, arg: string, value: number): void {
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot ${what} as '${arg}' must be a number: current type is ${typeof value}`,
    );
  }
  if (!Number.isFinite(value)) {
    throw new RangeError(`Cannot ${what} as '${arg}' must be finite: current value is ${value}`);
  }
}

/** Throws a RangeError unless `pct` lies in [0, 1]. */
export function _pct(what: string, pct: number): void {
  if (!(pct >= 0 && pct <= 1)) {
    throw new RangeError(`Cannot ${what} as 'pct' must be in [0, 1]: current value is ${pct}`);
  }
}

/** Throws a RangeError unless `value` is finite and strictly positive. */
export function _positive(what: string, arg: string, value: number): void {
  _finite(what, arg, value);
  if (!(value > 0)) {
    throw new RangeError(`Cannot ${what} as '${arg}' must be > 0: current value is ${value}`);
  }
}

/** Throws unless an exponential schedule from `start` to `end` is defined. */
export function _checkExp(what: string, start: number, end: number): void {
  _finite(what, "start", start);
  _finite(what, "end", end);
  if (start === 0) {
    throw new RangeError(`Cannot ${what} as 'start' must not be 0: current value is 0`);
  }
  if (start * end < 0) {
    throw new RangeError(
      `Cannot ${what} as 'end' must have the sign of 'start' (${start}): current value is ${end}`,
    );
  }
}
