#!/usr/bin/python3
"""Train several configurations over several seeds and print a table of test metrics.

    /usr/bin/python3 scripts/quality.py --data datasets/ml-latest-small --seeds 1 2 3 \\
        --config "MIND=--model mind" --config "YouTube DNN=--model youtube_dnn" --out runs/ml

Each --config is LABEL=FLAGS (passed to mind_train; the label holds no "="). Every (config, seed) run goes to
OUT/<label>/seed<k>/ (kept, so its metrics.jsonl can be plotted); a finished run is not run
again. The table gives the mean ± standard deviation over seeds of the test Recall, HitRate and
NDCG @20 and @50 and of the training time, as Markdown. Needs only the Python standard library.
"""
import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import time

KEYS = ["recall@20", "recall@50", "hitrate@20", "hitrate@50", "ndcg@20", "ndcg@50"]


def run(binary, data, label, flags, seed, out, threads):
    folder = os.path.join(out, re.sub(r"[^A-Za-z0-9_.-]+", "_", label), f"seed{seed}")
    metrics = os.path.join(folder, "metrics.jsonl")
    done = os.path.join(folder, "seconds.txt")
    if not os.path.exists(done):
        os.makedirs(folder, exist_ok=True)
        if os.path.exists(metrics):
            os.remove(metrics)
        command = [binary, "--data", data, "--seed", str(seed), "--out", folder, "--quiet",
                   "--threads", str(threads)] + shlex.split(flags)
        print("$", " ".join(shlex.quote(part) for part in command), file=sys.stderr, flush=True)
        start = time.monotonic()
        result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        seconds = time.monotonic() - start
        with open(os.path.join(folder, "log.txt"), "w") as log:
            log.write(result.stdout)
        if result.returncode != 0:
            sys.exit(f"{label} seed {seed} failed:\n{result.stdout[-2000:]}")
        with open(done, "w") as file:
            file.write(f"{seconds:.1f}\n")
    with open(metrics) as file:
        test = [json.loads(line) for line in file if '"split":"test"' in line.replace(" ", "")]
    with open(done) as file:
        seconds = float(file.read())
    return test[-1], seconds


def summary(values):
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default="./build/mind_train")
    parser.add_argument("--data", default="synthetic")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--config", action="append", required=True, help="LABEL=FLAGS")
    parser.add_argument("--out", default="runs")
    parser.add_argument("--threads", type=int, default=0)
    arguments = parser.parse_args()
    print(f"data: {arguments.data}; seeds {arguments.seeds}; mean ± std over seeds (test split)\n")
    print("| configuration | " + " | ".join(KEYS) + " | train time (s) |")
    print("|---" * (len(KEYS) + 2) + "|")
    for config in arguments.config:
        label, _, flags = config.partition("=")
        if flags and not flags.lstrip().startswith("-"):
            sys.exit(f"--config {config!r}: write LABEL=FLAGS with no '=' in the label")
        results = [run(arguments.binary, arguments.data, label, flags, seed, arguments.out, arguments.threads)
                   for seed in arguments.seeds]
        cells = [summary([result[key] for result, _ in results]) for key in KEYS]
        time_cell = summary([seconds for _, seconds in results]).replace(".0000", "")
        print(f"| {label} | " + " | ".join(cells) + f" | {time_cell} |", flush=True)


if __name__ == "__main__":
    main()
