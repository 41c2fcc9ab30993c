#!/usr/bin/python3
"""Plot training curves from one or more mind_train runs' metrics.jsonl.

    /usr/bin/python3 scripts/plot_metrics.py OUT.png RUN_DIR [RUN_DIR ...]

Each run contributes its validation Recall@50 and its running training loss against the step;
the legend names each run by its folder and model. Needs Debian's python3-matplotlib only.
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_run(folder):
    lines = []
    with open(os.path.join(folder, "metrics.jsonl")) as file:
        for number, text in enumerate(file, 1):
            if not text.strip():
                continue
            try:
                lines.append(json.loads(text))
            except json.JSONDecodeError as error:
                sys.exit(f"{folder}/metrics.jsonl:{number}: not JSON: {error}")
    return [line for line in lines if line.get("split") == "valid"]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    output, folders = sys.argv[1], sys.argv[2:]
    figure, (loss_axis, recall_axis) = plt.subplots(1, 2, figsize=(11, 4))
    for folder in folders:
        valid = read_run(folder)
        if not valid:
            sys.exit(f"{folder}/metrics.jsonl: no validation lines")
        label = f"{os.path.basename(os.path.normpath(folder))} ({valid[0]['model']})"
        steps = [line["step"] for line in valid]
        losses = [line["loss"] for line in valid]
        loss_axis.plot(steps, losses, marker="o", markersize=3, label=label)
        recall_axis.plot(steps, [line["recall@50"] for line in valid], marker="o", markersize=3, label=label)
    loss_axis.set(xlabel="step", ylabel="training loss (mean since last validation)", title="loss")
    recall_axis.set(xlabel="step", ylabel="Recall@50", title="validation Recall@50")
    for axis in (loss_axis, recall_axis):
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(output, dpi=110)
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
