// A learner trains one fit at a time: two fits interleaving on one model and one optimizer
// state would each step the other's weights. `fit` claims the learner for its whole run;
// whatever else would touch its weights first checks that it is idle.
import type { LearnerCore } from "./learner_core.ts";

const BUSY = new WeakMap<LearnerCore, string>();

/** Throws if `learn` is training; `what` is what the caller was about to do ("fit"). */
export function assertIdle(learn: LearnerCore, what: string): void {
  const by = BUSY.get(learn);
  if (by !== undefined) {
    throw new TypeError(
      `Cannot ${what} as this learner is busy with a ${by} that has not finished: await it ` +
        `first, or train a second learner (fork() copies one)`,
    );
  }
}

/** Marks `learn` busy (after {@linkcode assertIdle}); release with {@linkcode release}. */
export function claim(learn: LearnerCore, what: string): void {
  assertIdle(learn, what);
  BUSY.set(learn, what);
}

/** Marks `learn` idle again. */
export function release(learn: LearnerCore): void {
  BUSY.delete(learn);
}
