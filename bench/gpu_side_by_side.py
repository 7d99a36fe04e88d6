#!/usr/bin/env python3
"""dezero-cpp against PyTorch on one GPU, same machine, same run (the CUDA issue's table).

Alternates processes of bench/gpu_bench (dezero) with in-process PyTorch measurements of the
same rows (A B, then B A, ...), each round giving `--rounds` samples per row; the table shows
medians over all samples. Float32 everywhere, TF32 off on both sides (dezero computes in full
fp32), cuDNN autotuning on (PyTorch at its best). Prints a Markdown table; with --report FILE it
also replaces the part of FILE between <!-- gpu:begin --> and <!-- gpu:end -->.

  python3 bench/gpu_side_by_side.py --build build-gpu [--report docs/PERFORMANCE.md]
  python3 bench/gpu_side_by_side.py --build build --device cpu --smoke   # a check without a GPU
"""
import argparse
import re
import statistics
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as tf

# The convolution issue's six configurations: (N, C, H, W, OC, k, stride, pad, groups), as in
# bench/bench_common.h.
CONV_CONFIGS = [
    (64, 1, 28, 28, 32, 3, 1, 1, 1), (64, 32, 14, 14, 64, 3, 1, 1, 1), (64, 32, 14, 14, 64, 3, 1, 1, 4),
    (64, 64, 14, 14, 64, 3, 1, 1, 64), (32, 64, 56, 56, 64, 3, 1, 1, 1), (32, 128, 28, 28, 128, 3, 1, 1, 32),
]


def conv_label(c):
    return "conv2d fwd+bwd (" + ",".join(str(v) for v in c) + ")"


def lenet():
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


class Torch:
    """PyTorch's side: the same rows as gpu_bench, timed the same way."""

    def __init__(self, device, smoke):
        self.device, self.smoke = torch.device(device), smoke
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.manual_seed(0)
        self.rows = {}
        for c in CONV_CONFIGS:
            self.rows[conv_label(c)] = self.conv_work(c)
        for batch in (64, 256):
            self.rows[f"LeNet-style CNN step, batch {batch}"] = self.step_work(batch)
        n = 256 if smoke else 4096
        a, b = (torch.randn(n, n, device=self.device) for _ in range(2))
        self.rows[f"matmul {n}x{n}x{n}"] = lambda: torch.mm(a, b)

    def conv_work(self, c):
        N, C, H, W, OC, k, s, p, g = c
        x = torch.randn(N, C, H, W, device=self.device, requires_grad=True)
        w = torch.randn(OC, C // g, k, k, device=self.device, requires_grad=True)
        b = torch.randn(OC, device=self.device, requires_grad=True)
        gy = torch.randn_like(tf.conv2d(x, w, b, s, p, 1, g))
        return lambda: torch.autograd.grad([tf.conv2d(x, w, b, s, p, 1, g)], [x, w, b], [gy])

    def step_work(self, batch):
        model = lenet().to(self.device)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        x = torch.randn(batch, 1, 28, 28, device=self.device)
        t = torch.arange(batch, device=self.device) % 10

        def step():
            loss = tf.cross_entropy(model(x), t)
            opt.zero_grad()
            loss.backward()
            opt.step()
        return step

    def sync(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize()

    def mean_seconds(self, work, iterations):
        self.sync()
        t0 = time.perf_counter()
        for _ in range(iterations):
            work()
        self.sync()
        return (time.perf_counter() - t0) / iterations

    def measure(self, rounds):
        out = {}
        for row, work in self.rows.items():
            for _ in range(1 if self.smoke else 3):
                work()
            one = self.mean_seconds(work, 1)
            iterations = 1 if self.smoke else max(1, int(0.2 / max(one, 1e-6)))
            out[row] = [1e3 * self.mean_seconds(work, iterations) for _ in range(rounds)]
        return out


def run_dezero(binary, device, rounds, smoke):
    cmd = [binary, "--device", device] + (["--smoke"] if smoke else ["--rounds", str(rounds)])
    text = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    out = {}
    for line in text.splitlines():
        row, samples = line.split("\t")
        out[row] = [float(v) for v in samples.split(",")]
    return out


def table(ours, theirs):
    lines = ["| work | dezero-cpp (ms) | PyTorch (ms) | ratio |", "|---|---|---|---|"]
    for row in ours:
        a, b = statistics.median(ours[row]), statistics.median(theirs[row])
        if row.startswith("matmul"):
            n = int(re.search(r"matmul (\d+)x", row).group(1))
            gflops = lambda ms: 2 * n ** 3 / (ms * 1e-3) / 1e9
            lines.append(f"| {row} (GFLOP/s: dezero {gflops(a):.0f}, PyTorch/cuBLAS {gflops(b):.0f}; "
                         f"dezero at {100 * b / a:.0f}% of cuBLAS) | {a:.3f} | {b:.3f} | **{a / b:.2f}** |")
        else:
            lines.append(f"| {row} | {a:.3f} | {b:.3f} | **{a / b:.2f}** |")
    return "\n".join(lines)


def splice(path, text):
    with open(path) as f:
        doc = f.read()
    begin, end = "<!-- gpu:begin -->", "<!-- gpu:end -->"
    if begin not in doc or end not in doc:
        sys.exit(f"gpu_side_by_side: {path} has no {begin} ... {end} section")
    head, rest = doc.split(begin, 1)
    tail = rest.split(end, 1)[1]
    with open(path, "w") as f:
        f.write(f"{head}{begin}\n{text}\n{end}{tail}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build-gpu", help="build directory containing bench/gpu_bench")
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--processes", type=int, default=3, help="dezero processes (and PyTorch rounds) alternated")
    ap.add_argument("--rounds", type=int, default=3, help="samples per row per process")
    ap.add_argument("--smoke", action="store_true", help="one iteration per sample, small matmul")
    ap.add_argument("--report", help="Markdown file whose gpu:begin/end section receives the table")
    args = ap.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("gpu_side_by_side: PyTorch sees no CUDA device")
    rounds = 1 if args.smoke else args.rounds
    processes = 1 if args.smoke else args.processes
    binary = f"{args.build}/bench/gpu_bench"
    theirs_side = Torch(args.device, args.smoke)
    ours, theirs = {}, {}

    def add(into, samples):
        for row, v in samples.items():
            into.setdefault(row, []).extend(v)
    for p in range(processes):
        if p % 2 == 0:
            add(ours, run_dezero(binary, args.device, rounds, args.smoke))
            add(theirs, theirs_side.measure(rounds))
        else:
            add(theirs, theirs_side.measure(rounds))
            add(ours, run_dezero(binary, args.device, rounds, args.smoke))
    missing = set(ours) ^ set(theirs)
    if missing:
        sys.exit(f"gpu_side_by_side: rows differ between the two sides: {sorted(missing)}")
    name = torch.cuda.get_device_name() if args.device == "cuda" else "CPU"
    text = (f"{name}, PyTorch {torch.__version__}, float32 (TF32 off), cuDNN benchmark mode; medians of "
            f"{processes} x {rounds} samples per side.\n\n" + table(ours, theirs))
    print(text)
    if args.report:
        splice(args.report, text)


if __name__ == "__main__":
    main()
