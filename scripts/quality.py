#!/usr/bin/python3
"""Compare configurations of mind_train over the ten folds, user by user, with confidence intervals.

    python3 scripts/quality.py --data datasets/ml-latest-small --seeds 1 --jobs 2 --out runs/quality \\
        --config "youtube_dnn=--model youtube_dnn --epochs 40 --patience 5" \\
        --recipe mind=recipes/ml-latest-small/mind.toml --baseline youtube_dnn

Configurations: --config NAME=FLAGS (flags passed to mind_train; NAME holds no "=") and/or
--recipe NAME=FILE (passed as mind_train --config FILE). Each configuration runs on every fold of
--folds (default all ten, so every user of the log is a test user exactly once) and every seed of
--seeds, --jobs runs at a time, each with --threads 1. A run lives in OUT/NAME/fold<F>/seed<S>/;
a finished run (its done.json is there) is not run again, so an interrupted comparison resumes,
and adding a configuration runs only that one. A finished run whose flags differ from the ones
asked for is an error: use another NAME or --out. (A rebuilt mind_train is not noticed: after
changing the code, use a new --out.)

Per configuration: each test metric's mean over all test users, pooled across the folds (a user's
metrics are first averaged over the seeds), with a 95% confidence interval from Student's t over
users; the mean over runs of the best validation Recall@50, which is what tuning may look at
(validation users only); and each run's wall and CPU seconds. Per pair of configurations (or each
against --baseline): the paired per-user difference (users matched by fold and original id), its
mean and a seeded bootstrap 95% CI (percentile, --bootstrap resamples of the users,
--bootstrap-seed).

Results: OUT/quality.json and OUT/quality.md (the markdown is also printed). Needs only the
Python standard library.
"""
import argparse
import concurrent.futures
import hashlib
import json
import math
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import time

METRICS = ["recall@20", "recall@50", "hitrate@20", "hitrate@50", "ndcg@20", "ndcg@50"]
USER_TABLE = "test_metrics_by_user.tsv"
DONE = "done.json"


# ---- statistics ---------------------------------------------------------------------------------

def normal_quantile(p):
    """The standard normal's p-quantile, by bisection on erfc (fast enough for the few we need)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"quantile of p={p} is not defined")
    low, high = -40.0, 40.0
    for _ in range(200):
        middle = (low + high) / 2
        if 0.5 * math.erfc(-middle / math.sqrt(2)) < p:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def t_quantile(p, degrees):
    """Student's t p-quantile with `degrees` degrees of freedom.

    Exact for 1 and 2 degrees; otherwise the Cornish-Fisher expansion around the normal quantile
    (Abramowitz & Stegun 26.7.5): within 0.004 of the exact value at 3 degrees, 3e-4 at 5 and
    1e-5 from 10 up.
    """
    if degrees < 1:
        raise ValueError("a t quantile needs at least 1 degree of freedom")
    if degrees == 1:
        return math.tan(math.pi * (p - 0.5))
    if degrees == 2:
        return (2 * p - 1) / math.sqrt(2 * p * (1 - p))
    z = normal_quantile(p)
    n = float(degrees)
    return (z
            + (z ** 3 + z) / (4 * n)
            + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * n ** 2)
            + (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / (384 * n ** 3)
            + (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / (92160 * n ** 4))


def mean_interval(values, level=0.95):
    """(mean, low, high): the t interval of the mean of `values` (independent units: users)."""
    count = len(values)
    if count == 0:
        raise ValueError("no values")
    mean = math.fsum(values) / count
    if count == 1:
        return mean, float("nan"), float("nan")
    variance = math.fsum((value - mean) ** 2 for value in values) / (count - 1)
    half = t_quantile(0.5 + level / 2, count - 1) * math.sqrt(variance / count)
    return mean, mean - half, mean + half


def bootstrap_interval(differences, resamples, seed, level=0.95):
    """(low, high): the percentile bootstrap interval of the mean of `differences`.

    Each resample draws len(differences) users with replacement from random.Random(seed), so the
    same seed and the same list of users give the same interval (and every metric of one pair
    sees the same resampled users).
    """
    count = len(differences)
    if count == 0 or resamples < 1:
        return float("nan"), float("nan")
    generator = random.Random(seed)
    means = sorted(math.fsum(generator.choices(differences, k=count)) / count for _ in range(resamples))
    tail = (1 - level) / 2
    # The order statistics at the tail fractions (nearest rank).
    low_index = max(0, min(resamples - 1, int(math.floor(tail * resamples))))
    high_index = max(0, min(resamples - 1, int(math.ceil((1 - tail) * resamples)) - 1))
    return means[low_index], means[high_index]


# ---- reading runs -------------------------------------------------------------------------------

def read_user_table(path):
    """{original user id: [six metrics]} from a test_metrics_by_user.tsv, checking its header."""
    with open(path) as file:
        header = file.readline().rstrip("\n").split("\t")
        if header != ["user"] + METRICS:
            raise ValueError(f"{path}: unexpected header {header}")
        rows = {}
        for number, line in enumerate(file, start=2):
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 1 + len(METRICS):
                raise ValueError(f"{path}:{number}: {len(fields)} fields, expected {1 + len(METRICS)}")
            rows[fields[0]] = [float(field) for field in fields[1:]]
    return rows


def read_validation(path):
    """(best validation Recall@50, its epoch, the last epoch validated) from a metrics.jsonl."""
    best, best_epoch, last_epoch = -1.0, 0, 0
    with open(path) as file:
        for line in file:
            record = json.loads(line)
            if record.get("split") != "valid":
                continue
            last_epoch = record["epoch"]
            if record["recall@50"] > best:
                best, best_epoch = record["recall@50"], record["epoch"]
    return best, best_epoch, last_epoch


def folder_name(name):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def run_folder(out, name, fold, seed):
    return os.path.join(out, folder_name(name), f"fold{fold}", f"seed{seed}")


def load_run(folder):
    """Everything a finished run contributes: per-user test rows, validation, cost."""
    with open(os.path.join(folder, DONE)) as file:
        done = json.load(file)
    best, best_epoch, last_epoch = read_validation(os.path.join(folder, "metrics.jsonl"))
    return {
        "users": read_user_table(os.path.join(folder, USER_TABLE)),
        "best_valid_recall@50": best,
        "best_epoch": best_epoch,
        "epochs": last_epoch,
        "seconds": done["seconds"],
        "cpu_seconds": done.get("cpu_seconds", float("nan")),
    }


# ---- running ------------------------------------------------------------------------------------

def describe(command):
    return " ".join(shlex.quote(part) for part in command)


def run_one(binary, data, configuration, fold, seed, out):
    """Runs one (configuration, fold, seed) unless it has finished before; returns its folder."""
    folder = run_folder(out, configuration["name"], fold, seed)
    command = [binary, "--data", data, "--fold", str(fold), "--seed", str(seed), "--threads", "1",
               "--quiet", "--out", folder] + configuration["flags"]
    done_path = os.path.join(folder, DONE)
    if os.path.exists(done_path):
        with open(done_path) as file:
            done = json.load(file)
        if done["command"] != command or done.get("recipe_sha256") != configuration.get("recipe_sha256"):
            raise RuntimeError(f"{folder} was run as `{describe(done['command'])}` "
                               f"(recipe {done.get('recipe_sha256')}), not `{describe(command)}` "
                               f"(recipe {configuration.get('recipe_sha256')}): use another name or --out")
        return folder, None
    shutil.rmtree(folder, ignore_errors=True)  # an unfinished run starts again from nothing
    os.makedirs(folder)
    start = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = process.stdout.read()
    process.stdout.close()
    # wait4 gives this child's own CPU time: on a shared machine wall time says more about the
    # neighbours than about the run.
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - start
    with open(os.path.join(folder, "log.txt"), "w") as log:
        log.write(output)
    if process.returncode != 0:
        raise RuntimeError(f"`{describe(command)}` failed with code {process.returncode}:\n{output[-2000:]}")
    if not os.path.exists(os.path.join(folder, USER_TABLE)):
        raise RuntimeError(f"`{describe(command)}` wrote no {USER_TABLE} (a mind_train without per-user metrics?)")
    with open(done_path, "w") as file:
        json.dump({"command": command, "recipe_sha256": configuration.get("recipe_sha256"),
                   "seconds": round(seconds, 1), "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1)}, file)
        file.write("\n")
    return folder, seconds


def run_all(arguments, configurations):
    jobs = [(configuration, fold, seed) for configuration in configurations
            for fold in arguments.folds for seed in arguments.seeds]
    failures = []
    finished = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=arguments.jobs) as pool:
        futures = {pool.submit(run_one, arguments.binary, arguments.data, configuration, fold, seed,
                               arguments.out): (configuration["name"], fold, seed)
                   for configuration, fold, seed in jobs}
        for future in concurrent.futures.as_completed(futures):
            name, fold, seed = futures[future]
            finished += 1
            try:
                folder, seconds = future.result()
            except Exception as error:  # reported together at the end; the other runs go on
                failures.append(f"{name} fold {fold} seed {seed}: {error}")
                print(f"[{finished}/{len(jobs)}] FAILED {name} fold {fold} seed {seed}", file=sys.stderr, flush=True)
                continue
            how = "already done" if seconds is None else f"{seconds:.0f} s"
            print(f"[{finished}/{len(jobs)}] {name} fold {fold} seed {seed}: {how}", file=sys.stderr, flush=True)
    if failures:
        sys.exit("runs failed:\n" + "\n".join(failures))


# ---- summarising --------------------------------------------------------------------------------

def per_user(out, name, folds, seeds):
    """{(fold, user): [six metrics averaged over the seeds]} and the list of runs."""
    sums, counts, runs = {}, {}, []
    for fold in folds:
        for seed in seeds:
            run = load_run(run_folder(out, name, fold, seed))
            runs.append(run)
            for user, values in run["users"].items():
                key = (fold, user)
                if key not in sums:
                    sums[key], counts[key] = [0.0] * len(METRICS), 0
                sums[key] = [total + value for total, value in zip(sums[key], values)]
                counts[key] += 1
    return {key: [total / counts[key] for total in sums[key]] for key in sums}, runs


def summarise_configuration(name, users, runs):
    keys = sorted(users)
    summary = {"name": name, "users": len(keys), "runs": len(runs), "metrics": {}}
    for index, metric in enumerate(METRICS):
        mean, low, high = mean_interval([users[key][index] for key in keys])
        summary["metrics"][metric] = {"mean": mean, "ci95": [low, high]}
    count = len(runs)
    summary["mean_best_valid_recall@50"] = math.fsum(run["best_valid_recall@50"] for run in runs) / count
    summary["mean_best_epoch"] = math.fsum(run["best_epoch"] for run in runs) / count
    summary["mean_epochs"] = math.fsum(run["epochs"] for run in runs) / count
    summary["mean_seconds"] = math.fsum(run["seconds"] for run in runs) / count
    summary["mean_cpu_seconds"] = math.fsum(run["cpu_seconds"] for run in runs) / count
    return summary


def compare(first_name, first, second_name, second, resamples, seed):
    """The paired per-user difference first - second over the users both evaluated."""
    keys = sorted(set(first) & set(second))
    comparison = {"first": first_name, "second": second_name, "users": len(keys), "metrics": {}}
    for index, metric in enumerate(METRICS):
        differences = [first[key][index] - second[key][index] for key in keys]
        low, high = bootstrap_interval(differences, resamples, seed)
        comparison["metrics"][metric] = {
            "mean_difference": math.fsum(differences) / len(differences) if differences else float("nan"),
            "bootstrap_ci95": [low, high],
            "first_better": sum(1 for value in differences if value > 0),
            "second_better": sum(1 for value in differences if value < 0),
        }
    return comparison


def markdown(result):
    lines = [f"data: {result['data']}; folds {result['folds']}; seeds {result['seeds']}; "
             "test metrics: mean over all test users (pooled across folds) [95% t CI over users]", ""]
    lines.append("| configuration | users | " + " | ".join(METRICS) +
                 " | best valid R@50 | best epoch | epochs | s/run | CPU s/run |")
    lines.append("|---" * (len(METRICS) + 7) + "|")
    for summary in result["configurations"]:
        cells = [f"{value['mean']:.4f} [{value['ci95'][0]:.4f}, {value['ci95'][1]:.4f}]"
                 for value in summary["metrics"].values()]
        lines.append(f"| {summary['name']} | {summary['users']} | " + " | ".join(cells) +
                     f" | {summary['mean_best_valid_recall@50']:.4f} | {summary['mean_best_epoch']:.1f}"
                     f" | {summary['mean_epochs']:.1f} | {summary['mean_seconds']:.0f}"
                     f" | {summary['mean_cpu_seconds']:.0f} |")
    if result["comparisons"]:
        lines += ["", f"paired per-user difference (first - second), bootstrap 95% CI "
                      f"({result['bootstrap']} resamples, seed {result['bootstrap_seed']}); "
                      "* = the CI excludes 0", ""]
        lines.append("| first - second | users | " + " | ".join(METRICS) + " |")
        lines.append("|---" * (len(METRICS) + 2) + "|")
        for comparison in result["comparisons"]:
            cells = []
            for value in comparison["metrics"].values():
                low, high = value["bootstrap_ci95"]
                star = "*" if low > 0 or high < 0 else ""
                cells.append(f"{value['mean_difference']:+.4f} [{low:+.4f}, {high:+.4f}]{star}")
            lines.append(f"| {comparison['first']} - {comparison['second']} | {comparison['users']} | " +
                         " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def summarise(arguments, configurations):
    tables = {}
    result = {"data": arguments.data, "folds": arguments.folds, "seeds": arguments.seeds,
              "bootstrap": arguments.bootstrap, "bootstrap_seed": arguments.bootstrap_seed,
              "configurations": [], "comparisons": []}
    for configuration in configurations:
        name = configuration["name"]
        users, runs = per_user(arguments.out, name, arguments.folds, arguments.seeds)
        tables[name] = users
        summary = summarise_configuration(name, users, runs)
        summary["flags"] = configuration["flags"]
        result["configurations"].append(summary)
    names = [configuration["name"] for configuration in configurations]
    if arguments.baseline is not None:
        pairs = [(name, arguments.baseline) for name in names if name != arguments.baseline]
    else:
        pairs = [(names[i], names[j]) for i in range(len(names)) for j in range(i + 1, len(names))]
    for first, second in pairs:
        result["comparisons"].append(compare(first, tables[first], second, tables[second],
                                             arguments.bootstrap, arguments.bootstrap_seed))
    return result


# ---- command line -------------------------------------------------------------------------------

def parse_folds(text):
    try:
        folds = [int(part) for part in text.split(",") if part.strip() != ""]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--folds wants comma-separated numbers 0..9, got {text!r}")
    if not folds or any(fold < 0 or fold > 9 for fold in folds) or len(set(folds)) != len(folds):
        raise argparse.ArgumentTypeError(f"--folds wants distinct numbers 0..9, got {text!r}")
    return folds


def parse_configurations(arguments, parser):
    configurations = []
    for text in arguments.config or []:
        name, separator, flags = text.partition("=")
        if not separator or not name or (flags and not flags.lstrip().startswith("-")):
            parser.error(f"--config {text!r}: write NAME=FLAGS, with no '=' in NAME")
        configurations.append({"name": name, "flags": shlex.split(flags)})
    for text in arguments.recipe or []:
        name, separator, path = text.partition("=")
        if not separator or not name or not path:
            parser.error(f"--recipe {text!r}: write NAME=FILE")
        if not os.path.isfile(path):
            parser.error(f"--recipe {text!r}: {path} is not a file")
        with open(path, "rb") as file:
            digest = hashlib.sha256(file.read()).hexdigest()
        configurations.append({"name": name, "flags": ["--config", path], "recipe_sha256": digest})
    if not configurations:
        parser.error("give at least one --config NAME=FLAGS or --recipe NAME=FILE")
    names = [configuration["name"] for configuration in configurations]
    if len(set(folder_name(name) for name in names)) != len(names):
        parser.error(f"configuration names must differ (also after making them folder names): {names}")
    if arguments.baseline is not None and arguments.baseline not in names:
        parser.error(f"--baseline {arguments.baseline!r} is none of the configurations {names}")
    return configurations


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", action="append", metavar="NAME=FLAGS", help="a configuration as mind_train flags")
    parser.add_argument("--recipe", action="append", metavar="NAME=FILE", help="a configuration as a mind_train --config file")
    parser.add_argument("--data", default="datasets/ml-latest-small", help="passed to mind_train --data (default: %(default)s)")
    parser.add_argument("--folds", type=parse_folds, default=list(range(10)), help="comma-separated folds (default: all ten)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1], help="seeds of every run (default: 1)")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time, each with --threads 1 (default: %(default)s)")
    parser.add_argument("--out", default="runs/quality", help="folder of the runs and results (default: %(default)s)")
    parser.add_argument("--binary", default="./build/mind_train", help="mind_train to run (default: %(default)s)")
    parser.add_argument("--baseline", help="compare every configuration with this one (default: every pair)")
    parser.add_argument("--bootstrap", type=int, default=10000, help="bootstrap resamples (default: %(default)s)")
    parser.add_argument("--bootstrap-seed", type=int, default=1, help="bootstrap seed (default: %(default)s)")
    arguments = parser.parse_args(argv)
    if arguments.jobs < 1:
        parser.error("--jobs must be at least 1")
    if arguments.bootstrap < 1:
        parser.error("--bootstrap must be at least 1")
    configurations = parse_configurations(arguments, parser)
    os.makedirs(arguments.out, exist_ok=True)
    run_all(arguments, configurations)
    result = summarise(arguments, configurations)
    with open(os.path.join(arguments.out, "quality.json"), "w") as file:
        json.dump(result, file, indent=1)
        file.write("\n")
    table = markdown(result)
    with open(os.path.join(arguments.out, "quality.md"), "w") as file:
        file.write(table)
    print(table, end="")
    return result


if __name__ == "__main__":
    main()
