const url = new URL("./worker.ts", import.meta.url);
const w = new Worker(url, { type: "module" });
const backend = await new Promise((resolve) => {
  w.onmessage = (e) => resolve(e.data);
});
w.terminate();
console.log(backend);
