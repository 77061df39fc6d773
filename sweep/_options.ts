// Unknown option keys are errors, with a "did you mean" for a near miss.

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = row[j]!;
      row[j] = next;
    }
  }
  return row[b.length]!;
}

/**
 * Throws a TypeError naming the first key of `options` not in `known`, with the closest
 * known key (or the new name of a renamed one) as a suggestion.
 */
export function checkKeys(
  what: string,
  options: object,
  known: readonly string[],
  renamed: Readonly<Record<string, string>> = {},
): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const close = renamed[key] ??
      known.map((k) => [k, distance(key.toLowerCase(), k.toLowerCase())] as const)
        .filter(([, d]) => d <= Math.max(2, Math.floor(key.length / 3)))
        .sort((a, b) => a[1] - b[1])[0]?.[0];
    throw new TypeError(
      `Cannot ${what} as option '${key}' is unknown${
        close ? `: did you mean '${close}'?` : `: known options are ${known.join(", ")}`
      }`,
    );
  }
}
