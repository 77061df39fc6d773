// tf.setBackend with the reason of a failure: tfjs swallows the error of a backend
// factory that fails (its warnings are off in PROD mode, which fitloop sets), so the
// factory is watched while the backend starts.
import * as tf from "@tensorflow/tfjs";

interface FactoryEntry {
  factory: () => unknown;
}

function _message(e: unknown): string {
  const text = e instanceof Error ? e.message : (e as { message?: unknown })?.message ?? e;
  return String(text ?? "").split("\n")[0]!;
}

/**
 * Makes `name` the active backend. Resolves to undefined when it is, else to why not
 * (the factory's error when it failed). `race` may reject first (a failing worker).
 */
export async function _setBackend(
  name: string,
  race?: Promise<never>,
): Promise<string | undefined> {
  const entry = (tf.engine() as unknown as { registryFactory: Record<string, FactoryEntry> })
    .registryFactory[name];
  const factory = entry?.factory;
  let error: unknown;
  if (entry && factory) {
    entry.factory = () => {
      try {
        const made = factory();
        return made instanceof Promise ? made.catch((e) => Promise.reject(error = e)) : made;
      } catch (e) {
        error = e;
        throw e;
      }
    };
  }
  try {
    const start = tf.setBackend(name);
    const ok = await (race ? Promise.race([start, race]) : start);
    await tf.ready();
    if (ok && tf.getBackend() === name) return undefined;
    return error !== undefined
      ? _message(error)
      : `tf.setBackend('${name}') could not initialise it`;
  } catch (e) {
    return _message(e);
  } finally {
    if (entry && factory) entry.factory = factory;
  }
}
