// Retrying a database operation across a lost connection, with exponential backoff.

const TRANSIENT_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "CONNECTION_ENDED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "40001", // serialization_failure
  "40P01", // deadlock_detected
]);

/** Whether an error from the client or the server is worth a retry (the connection, not the query). */
export function isTransient(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === "string") {
    // 08: connection exception; 57P: operator intervention (terminated, shutting down)
    if (TRANSIENT_CODES.has(code) || code.startsWith("08") || code.startsWith("57P")) return true;
  }
  return e instanceof Deno.errors.ConnectionRefused || e instanceof Deno.errors.ConnectionReset ||
    e instanceof Deno.errors.BrokenPipe || e instanceof Deno.errors.ConnectionAborted;
}

/** Backoff settings. */
export interface RetryPolicy {
  /** First delay in ms. */
  readonly firstMs: number;
  /** Longest delay in ms. */
  readonly maxMs: number;
  /** Give up after this many ms in all. */
  readonly totalMs: number;
}

/**
 * Runs `fn`, and again after 1x, 2x, 4x… `firstMs` (at most `maxMs`, with jitter) while it
 * fails with a transient error, until `totalMs` have passed; then throws the last error.
 */
export async function withRetry<T>(
  what: string,
  policy: RetryPolicy,
  fn: () => Promise<T>,
  onRetry: (error: unknown, delayMs: number) => void = () => {},
): Promise<T> {
  const start = Date.now();
  let delay = policy.firstMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (!isTransient(e) || Date.now() - start + delay > policy.totalMs) {
        if (isTransient(e)) {
          throw new Error(
            `Cannot ${what}: the database stayed unreachable for ${policy.totalMs / 1000} s`,
            {
              cause: e,
            },
          );
        }
        throw e;
      }
      const wait = delay * (0.75 + Math.random() * 0.5);
      onRetry(e, wait);
      await new Promise((r) => setTimeout(r, wait));
      delay = Math.min(policy.maxMs, delay * 2);
    }
  }
}
