// The filesystem steps of writing a snapshot, each announced just before it runs, so that
// a test can stop a write at a chosen step or byte (as a crash would) instead of racing a
// timer against a child process. Nothing listens in normal use.

/**
 * Called before each step with its name ("mkdir", "write", "model", "rename", "remove"),
 * the path it creates, writes, renames or removes, and for "write" the bytes about to be
 * written. The step runs once the returned promise (if any) settles.
 */
export type SnapshotStepListener = (
  step: string,
  path: string,
  bytes?: Uint8Array,
) => void | Promise<void>;

/** The listener, if a test set one. */
export const snapshotSteps: { listener: SnapshotStepListener | undefined } = {
  listener: undefined,
};

/** Announces a step to the listener (nothing without one). */
export function announce(step: string, path: string, bytes?: Uint8Array): void | Promise<void> {
  return snapshotSteps.listener?.(step, path, bytes);
}
