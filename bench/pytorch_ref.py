"""PyTorch CPU reference for `deno task bench`: the same MLP and CNN training steps as
bench/fit_bench.ts (batch 64, 28x28x1 inputs, Adam 1e-3, cross-entropy), driven by the
bench over stdin/stdout so that its timings interleave with fitloop's.

Commands, one JSON object per line:
  {"cmd": "step", "workload": "cnn" | "mlp", "threads": N, "steps": S}
      -> {"ms": <mean ms per step over S steps>}
  {"cmd": "quit"}
Prints {"ready": true, "torch": <version>} first.
"""
import json
import sys
import time

import torch
from torch import nn

torch.manual_seed(0)
torch.set_num_interop_threads(1)
BATCH = 64


def make(workload):
    if workload == "cnn":
        return nn.Sequential(
            nn.Conv2d(1, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(32 * 5 * 5, 10),
        )
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))


class Run:
    def __init__(self, workload, steps):
        self.model = make(workload)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.x = torch.rand(steps * BATCH, 1, 28, 28)
        self.y = torch.randint(0, 10, (steps * BATCH,))
        self.loss = nn.CrossEntropyLoss()
        self.steps = steps

    def epoch(self):
        order = torch.randperm(self.steps * BATCH)
        t0 = time.perf_counter()
        for s in range(self.steps):
            idx = order[s * BATCH:(s + 1) * BATCH]
            self.opt.zero_grad(set_to_none=True)
            out = self.loss(self.model(self.x[idx]), self.y[idx])
            out.backward()
            self.opt.step()
            out.item()  # one loss read per step, as the JS loops do
        return (time.perf_counter() - t0) * 1000 / self.steps


def main():
    runs = {}
    print(json.dumps({"ready": True, "torch": torch.__version__}), flush=True)
    for line in sys.stdin:
        msg = json.loads(line)
        if msg["cmd"] == "quit":
            break
        key = (msg["workload"], msg["threads"])
        torch.set_num_threads(msg["threads"])
        if key not in runs:
            runs[key] = Run(msg["workload"], msg["steps"])
            runs[key].epoch()  # warm-up
        print(json.dumps({"ms": runs[key].epoch()}), flush=True)


if __name__ == "__main__":
    main()
