// An exclusive lock on a file, across processes (flock on `<path>.lock`) and across the
// lanes of one process (a promise chain: flock is per open file, and the lanes of one
// process would otherwise wait on each other's open files from the event loop).

const chains = new Map<string, Promise<void>>();

/** Runs `fn` while holding the lock of `path`; the lock is released even if `fn` throws. */
export async function withFileLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const lockPath = `${path}.lock`;
  const before = chains.get(lockPath) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((r) => (release = r));
  const chain = before.then(() => mine);
  chains.set(lockPath, chain);
  await before;
  try {
    const file = await Deno.open(lockPath, { create: true, write: true });
    try {
      await file.lock(true);
      try {
        return await fn();
      } finally {
        await file.unlock();
      }
    } finally {
      file.close();
    }
  } finally {
    release();
    if (chains.get(lockPath) === chain) chains.delete(lockPath);
  }
}
