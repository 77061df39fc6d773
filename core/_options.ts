// Checks shared by every function that takes an options object or a name a user types:
// unknown option keys are errors with a "did you mean", and values are shown in messages
// as the user wrote them (a string in quotes, with its type).

/**
 * How a value is shown in an error: strings quoted (so `"3"` is not mistaken for 3), with
 * the type named where the text alone would mislead.
 */
export function show(value: unknown): string {
  if (typeof value === "string") return `${JSON.stringify(value)} (a string)`;
  if (typeof value === "bigint") return `${value}n (a bigint)`;
  if (typeof value === "function") return `a function`;
  if (Array.isArray(value)) {
    const items = value.slice(0, 8).map((
      v,
    ) => (typeof v === "string" ? JSON.stringify(v) : String(v)));
    return `[${items.join(", ")}${value.length > 8 ? ", …" : ""}] (an array)`;
  }
  if (value !== null && typeof value === "object") {
    return Object.prototype.toString.call(value);
  }
  return String(value);
}

function _distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(
        up + 1,
        prev[j - 1]! + 1,
        diag + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** A name folded for comparison: lower case, without `_`, `-` and spaces. */
function _fold(name: string): string {
  return name.toLowerCase().replace(/[_\- ]/g, "");
}

/**
 * The candidate closest to `name` when it is close enough to be a slip (same letters up to
 * case and `_`, or a few edits away), else undefined.
 */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  const folded = _fold(name);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    if (c === name) continue;
    const fc = _fold(c);
    const prefix = Math.min(fc.length, folded.length) >= 3 &&
      (fc.startsWith(folded) || folded.startsWith(fc));
    const d = fc === folded ? 0 : prefix ? 1 : _distance(folded, fc);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  const limit = Math.max(1, Math.floor(Math.min(folded.length, 12) / 3));
  return bestDistance <= limit ? best : undefined;
}

/**
 * The tail of a message about an unknown name: `: did you mean 'x'? Options are a, b` for a
 * near miss, else `: options are a, b` (`what` is "options", "metrics"…).
 */
export function suggest(name: string, candidates: Iterable<string>, what: string): string {
  const list = [...candidates];
  const near = closest(name, list);
  const tail = `${what} are ${list.join(", ")}`;
  return near === undefined
    ? `: ${tail}`
    : `: did you mean '${near}'? ${tail[0]!.toUpperCase()}${tail.slice(1)}`;
}

/** `: did you mean 'x'?` for a near miss, else "". */
export function didYouMean(name: string, candidates: Iterable<string>): string {
  const near = closest(name, candidates);
  return near === undefined ? "" : `: did you mean '${near}'?`;
}

/**
 * Refuses an options object that is not an object or holds a key outside `known`.
 *
 * @param what What the caller does, for the message ("create earlyStopping", "fit").
 * @param options The options as given (undefined is fine).
 * @param known Every option name.
 * @param required When options are required: what they hold at least ("{ clip }").
 * @throws {TypeError} "Cannot create earlyStopping as 'patiance' is not an option: did you
 * mean 'patience'? Options are …", or when `options` is not an object.
 */
export function checkOptions(
  what: string,
  options: unknown,
  known: readonly string[],
  required?: string,
): void {
  if (options === undefined) {
    if (required === undefined) return;
    throw new TypeError(`Cannot ${what} as its options must be given: ${required}`);
  }
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new TypeError(
      `Cannot ${what} as its options must be an object: current value is ${show(options)}`,
    );
  }
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    throw new TypeError(
      `Cannot ${what} as '${key}' is not an option${suggest(key, known, "options")}`,
    );
  }
}

function _isLrRange(v: unknown): boolean {
  return v !== null && typeof v === "object" && (v as { kind?: unknown }).kind === "lrRange";
}

function _checkRates(what: string, name: string, value: unknown, allowRange: boolean): void {
  const expected = allowRange
    ? "a number, an array of numbers (one per layer group) or lrRange()"
    : "a number or an array of numbers (one per layer group)";
  if (allowRange && _isLrRange(value)) return;
  const values = typeof value === "number" ? [value] : value;
  if (!Array.isArray(values) || values.some((v) => typeof v !== "number")) {
    throw new TypeError(
      `Cannot ${what} as '${name}' must be ${expected}: current value is ${show(value)}`,
    );
  }
  values.forEach((v: number, i) => {
    if (!(Number.isFinite(v) && v >= 0)) {
      throw new RangeError(
        `Cannot ${what} as '${name}${Array.isArray(value) ? `[${i}]` : ""}' must be a finite ` +
          `number >= 0: current value is ${v}`,
      );
    }
  });
}

/** Refuses a learning rate that is not a number >= 0, an array of them or an `lrRange`. */
export function checkLr(what: string, name: string, lr: unknown): void {
  _checkRates(what, name, lr, true);
}

/** Refuses a weight decay that is not a number >= 0 or an array of them. */
export function checkWd(what: string, name: string, wd: unknown): void {
  _checkRates(what, name, wd, false);
}
