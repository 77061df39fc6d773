// The default backend. tfjs alone starts on its plain cpu backend under Deno (tens of
// times slower than WASM for a small CNN) and, in a Worker, first tries WebGL and prints
// its failure. So when fitloop's loop is first imported and no backend has been chosen
// yet, it chooses one as `useBackend("auto")` does: WebGPU on a real GPU, else WASM, else
// cpu, before any user code makes a tensor. `FITLOOP_BACKEND=cpu` (with --allow-env)
// opts out at import; `useBackend(...)` or `tf.setBackend(...)` switches afterwards.
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../backend/use_backend.ts";

// An explicit FITLOOP_BACKEND that cannot start is an error here, as in useBackend.
if (!tf.engine().backendName) await useBackend("auto");
