#!/usr/bin/python3
"""compare: runs ours and PyTorch / Faiss side by side and writes bench/RESULTS.md.

Called by bench/compare_training.sh (machine and training) and bench/run_all.sh (everything),
after they have built Release into build/. Parts:
  machine    bench/core_to_core: what a cache line costs when it passes between CPU 0 and CPU 1,
             against a load from this core's cache and from memory (what limits the thread
             scaling of one model shared by two cores).
  training   MIND d=64, MIND d=128 and YouTube DNN on MovieLens latest-small and on a 100 000-item
             synthetic catalogue: ours (build/mind_train, 2 threads) and PyTorch (bench/torch_mind.py
             at its faster thread count) alternately, after a warm-up; samples/s, ratio per round,
             median ratio, peak RSS; and ours with 1 thread, with 2 threads under
             OMP_WAIT_POLICY=passive, and as two 1-thread runs at once (what the two cores give
             two independent programs in that round: the ceiling for our thread scaling).
  scaling    ours: ms per training step at 10^4, 10^5, 10^6 synthetic items, 1 and 2 threads.
  retrieval  exact top-50 with history exclusion: bench_retrieval (ours) vs bench/faiss_retrieval.py
             (IndexFlatIP) at 10 000 and 1 000 000 items, 1 and 2 threads each.
  gemm       bench_gemm_openblas: our gemm at MIND's shapes vs OpenBLAS.
How runs are timed: mind_train --max-steps prints a `timing:` line (samples/s over its steps after
the first 20); once it is printed the run is stopped (the evaluation that would follow is not
part of training), and its peak RSS is read with wait4(). PyTorch times its own steps after a
20-step warm-up and is measured the same way.
"""
import argparse
import concurrent.futures
import datetime
import os
import re
import shutil
import itertools
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, os.environ.get("MIND_BENCH_BUILD", "build"))
MIND_TRAIN = os.path.join(BUILD, "mind_train")
DUMP_BATCHES = os.path.join(BUILD, "bench", "dump_batches")
BENCH_RETRIEVAL = os.path.join(BUILD, "bench", "bench_retrieval")
BENCH_GEMM = os.path.join(BUILD, "bench", "bench_gemm_openblas")
CORE_TO_CORE = os.path.join(BUILD, "bench", "core_to_core")
PYTHON = "/usr/bin/python3"
MOVIELENS = os.path.join(ROOT, "datasets", "ml-latest-small")
BATCH = 128
SCALING_USERS = 150_000
LOG_LINES = []  # every command run, for the results file


def log(text=""):
    print(text, flush=True)


def python_env(threads):
    """PyTorch / Faiss: OpenBLAS pinned to the thread count, and the two variables this machine
    sets for older OpenBLAS builds (they slow down the installed one) unset for them only."""
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    env["OPENBLAS_NUM_THREADS"] = str(threads)
    return env


def shown(command, env_note=""):
    return (env_note + " " if env_note else "") + " ".join(command)


def run_until(command, marker, env=None):
    """Runs `command`, returns (output, the first line starting with `marker`, peak RSS in KiB).
    Kills the process as soon as the marker line is printed."""
    LOG_LINES.append((["OMP_WAIT_POLICY=passive"] if env and env.get("OMP_WAIT_POLICY") == "passive" else []) + command)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                               cwd=ROOT)
    output, found = [], None
    for line in process.stdout:
        output.append(line)
        if line.startswith(marker):
            found = line
            # SIGKILL, not SIGTERM: mind_train treats SIGTERM as "save and stop cleanly", which
            # would still run work we do not time. Peak RSS is the kernel's, whatever the signal.
            process.kill()
            break
    process.stdout.close()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = 0  # reaped above
    if found is None:
        raise SystemExit("compare: no '" + marker + "' line from: " + " ".join(command) + "\n" + "".join(output[-20:]))
    return "".join(output), found, usage.ru_maxrss


RUN_NUMBER = itertools.count()


def fresh_folder(out):
    """A new, empty output folder for one mind_train run (a killed run leaves files behind)."""
    folder = f"{out}-{next(RUN_NUMBER)}"
    shutil.rmtree(folder, ignore_errors=True)
    return folder


def ours_train(data_flags, model_flags, steps, threads, out, passive=False):
    """One timed run of ours. passive: OMP_WAIT_POLICY=passive (idle OpenMP threads sleep at once
    instead of spinning first), which matters when another job holds one of the cores."""
    out = fresh_folder(out)
    command = [MIND_TRAIN, *data_flags, *model_flags, "--max-steps", str(steps), "--threads", str(threads),
               "--eval-every", "1000000000", "--quiet", "--out", out]
    env = None
    if passive:
        env = dict(os.environ)
        env["OMP_WAIT_POLICY"] = "passive"
    output, line, rss = run_until(command, "timing:", env=env)
    shutil.rmtree(out, ignore_errors=True)
    rate = float(line.split()[1])
    items = re.search(r", (\d+) items,", output)
    return {"rate": rate, "rss": rss, "items": int(items.group(1)) if items else 0, "command": shown(command)}


def ours_two_at_once(data_flags, model_flags, steps, out):
    """Two 1-thread runs of ours started together, one per core: the sum of their samples/s is
    what the machine gives two independent programs at that moment. Our 2-thread run shares one
    model between its threads and cannot beat it; when it is below 1.7x the 1-thread rate, so is
    our scaling target's reach. (The faster run ends first and the other finishes alone, so the
    sum leans high, if anything.)"""
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(lambda index: ours_train(data_flags, model_flags, steps, 1, f"{out}-copy{index}"),
                             range(2)))
    return runs[0]["rate"] + runs[1]["rate"]


def torch_train(batches, model, dim, threads, seconds):
    command = [PYTHON, os.path.join(ROOT, "bench", "torch_mind.py"), batches, "--model", model, "--dim", str(dim),
               "--threads", str(threads), "--seconds", str(seconds)]
    output, line, rss = run_until(command, "torch:", env=python_env(1))
    rate = float(re.search(r"samples_per_second (\S+)", line).group(1))
    losses = re.search(r"first losses: (.*)", output).group(1).split()
    note = "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1"
    return {"rate": rate, "rss": rss, "losses": [float(x) for x in losses], "command": shown(command, note)}


def ours_first_loss(data_flags, model_flags, out):
    """Mean loss of our first 5 steps (the validation line after --max-steps 5 prints it)."""
    out = fresh_folder(out)
    command = [MIND_TRAIN, *data_flags, *model_flags, "--max-steps", "5", "--threads", "2", "--quiet", "--out", out]
    output, line, _ = run_until(command, "epoch ")
    return float(re.search(r" loss (\S+)", line).group(1))


def median(values):
    return statistics.median(values)


def fmt(value, digits=0):
    return f"{value:,.{digits}f}"


def training(args, workdir, sections):
    seconds = args.seconds
    pairs = args.pairs
    datasets = [("MovieLens latest-small", ["--data", MOVIELENS]),
                ("synthetic 100 000 items", ["--synthetic-items", "100000"])]
    cases = [("MIND d=64", "mind", 64), ("MIND d=128", "mind", 128), ("YouTube DNN d=64", "youtube_dnn", 64)]
    if args.quick:
        cases = cases[:1]
    rows, pair_rows, memory_rows, scaling_rows, loss_rows = [], [], [], [], []
    out = os.path.join(workdir, "run")
    for dataset_name, data_flags in datasets:
        for case_name, model, dim in cases:
            model_flags = ["--model", model, "--dim", str(dim)]
            batches = os.path.join(workdir, f"batches-{model}-{dim}-{len(rows)}")
            dump = [DUMP_BATCHES, *data_flags, "--steps", "400", "--dim", str(dim), "--out", batches]
            LOG_LINES.append(dump)
            subprocess.run(dump, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
            log(f"\n== {case_name} on {dataset_name}")
            # Warm-up, and the step count that makes one of our runs last about `seconds`.
            # Warm-up, and for each thread count the step count of a run of about `seconds`.
            warm = ours_train(data_flags, model_flags, 150, 2, out)
            steps = 20 + max(50, int(warm["rate"] * seconds / BATCH))
            warm_one = ours_train(data_flags, model_flags, 150, 1, out)
            steps_one = 20 + max(50, int(warm_one["rate"] * seconds / BATCH))
            # PyTorch's best thread count for this case.
            probe = {threads: torch_train(batches, model, dim, threads, max(2.0, seconds / 2)) for threads in (1, 2)}
            best_threads = max(probe, key=lambda threads: probe[threads]["rate"])
            log(f"torch probe: 1 thread {fmt(probe[1]['rate'])} samples/s, 2 threads {fmt(probe[2]['rate'])}; "
                f"using {best_threads}")
            ours_loss = ours_first_loss(data_flags, model_flags, out)
            torch_loss = statistics.mean(probe[1]["losses"][:5])
            loss_rows.append(f"| {case_name} | {dataset_name} | {ours_loss:.4f} | {torch_loss:.4f} |")
            log(f"first 5 steps' mean loss: ours {ours_loss:.4f}, torch {torch_loss:.4f}")
            # Rounds of: ours with 2 threads, PyTorch, ours with 1 thread (A B C A B C ...).
            ratios, best_ratios, our_rates, one_rates, torch_rates, our_rss, torch_rss = [], [], [], [], [], [], []
            passive_rates, passive_ratios, copies_rates = [], [], []
            for pair in range(pairs):
                # Ours with 1 and with 2 threads one right after the other, so that their ratio
                # (the thread scaling) sees the same machine; PyTorch right after ours.
                one = ours_train(data_flags, model_flags, steps_one, 1, out)
                ours = ours_train(data_flags, model_flags, steps, 2, out)
                theirs = torch_train(batches, model, dim, best_threads, seconds)
                passive = ours_train(data_flags, model_flags, steps_one, 2, out, passive=True)
                copies = ours_two_at_once(data_flags, model_flags, steps_one, out)
                ratio = ours["rate"] / theirs["rate"]
                ratios.append(ratio)
                best_ratios.append(max(ours["rate"], one["rate"]) / theirs["rate"])
                passive_rates.append(passive["rate"])
                copies_rates.append(copies)
                passive_ratios.append(passive["rate"] / theirs["rate"])
                our_rates.append(ours["rate"])
                one_rates.append(one["rate"])
                torch_rates.append(theirs["rate"])
                our_rss.append(ours["rss"])
                torch_rss.append(theirs["rss"])
                log(f"round {pair + 1}: ours {fmt(ours['rate'])} samples/s (1 thread {fmt(one['rate'])}, "
                    f"2 threads passive {fmt(passive['rate'])}, two 1-thread runs at once {fmt(copies)}), "
                    f"torch {fmt(theirs['rate'])} samples/s, ratio {ratio:.2f}")
                pair_rows.append(f"| {case_name} | {dataset_name} | {pair + 1} | {fmt(ours['rate'])} | "
                                 f"{fmt(one['rate'])} | {fmt(passive['rate'])} | {fmt(copies)} | "
                                 f"{fmt(theirs['rate'])} | {ratio:.2f} |")
            log(f"median ratio {median(ratios):.2f} (ours at its better thread count: {median(best_ratios):.2f}); "
                f"peak RSS ours {fmt(max(our_rss) / 1024)} MiB, torch {fmt(max(torch_rss) / 1024)} MiB")
            rows.append(f"| {case_name} | {dataset_name} ({fmt(warm['items'])} items) | {fmt(median(our_rates))} | "
                        f"{fmt(median(torch_rates))} ({best_threads} thr; 1 thr {fmt(probe[1]['rate'])}, "
                        f"2 thr {fmt(probe[2]['rate'])}) | **{median(ratios):.2f}** | {median(best_ratios):.2f} | "
                        f"{median(passive_ratios):.2f} |")
            memory_rows.append(f"| {case_name} | {dataset_name} | {fmt(max(our_rss) / 1024)} | "
                               f"{fmt(max(torch_rss) / 1024)} | {max(torch_rss) / max(our_rss):.1f} |")
            scaling = [two / one for two, one in zip(our_rates, one_rates)]
            passive_scaling = [two / one for two, one in zip(passive_rates, one_rates)]
            machine_scaling = [copies / one for copies, one in zip(copies_rates, one_rates)]
            scaling_rows.append(f"| {case_name} | {dataset_name} | {fmt(median(one_rates))} | {fmt(median(our_rates))} | "
                                f"**{median(scaling):.2f}** | {fmt(median(passive_rates))} | {median(passive_scaling):.2f} | "
                                f"{median(machine_scaling):.2f} |")
    sections.append(("Training throughput: ours (2 threads) vs PyTorch (best of 1 and 2 threads)",
                     "Samples/s are medians over the rounds; the ratio is the median of the per-round ratios "
                     f"(ours with 2 threads / PyTorch). {pairs} rounds per case, each run about {seconds:g} s of timed "
                     "training, in the order ours (1 thread), ours (2 threads), PyTorch, ours (2 threads, passive), two "
                     "1-thread runs of ours at once, ... after a warm-up run of "
                     "ours (1 and 2 threads) and PyTorch's thread probe. \"ours best\" takes ours at its better thread "
                     "count in each round (on a busy machine one thread can beat two); \"passive\" is ours with 2 "
                     "threads and OMP_WAIT_POLICY=passive (OpenMP threads sleep instead of spinning while they "
                     "wait). Targets: MIND ≥ 2× at d=64, ≥ 1.5× at d=128.\n\n"
                     "| model | data | ours samples/s | PyTorch samples/s | ours / PyTorch | ours best / PyTorch | "
                     "passive / PyTorch |\n"
                     "|---|---|---:|---:|---:|---:|---:|\n" +
                     "\n".join(rows)))
    sections.append(("Every round (samples/s)", "| model | data | round | ours 2 thr | ours 1 thr | ours 2 thr passive | "
                     "two 1-thr runs at once (sum) | PyTorch | ours 2 thr / PyTorch |\n"
                     "|---|---|---:|---:|---:|---:|---:|---:|---:|\n" +
                     "\n".join(pair_rows)))
    sections.append(("Peak resident memory of a training run (MiB)",
                     "Largest over the rounds (ours: the 2-thread runs); PyTorch's includes the Python interpreter and the torch library.\n\n"
                     "| model | data | ours | PyTorch | PyTorch / ours |\n|---|---|---:|---:|---:|\n" + "\n".join(memory_rows)))
    sections.append(("Our thread scaling (training, samples/s)",
                     "Medians over the rounds above; the ratios are medians of the per-round ratios. Target: 2 "
                     "threads ≥ 1.7× one thread. The last column is the machine's own ceiling in the same rounds: "
                     "two independent 1-thread runs of ours started together, their samples/s summed, over the "
                     "1-thread rate. A 2-thread run shares one model between its cores and cannot beat it.\n\n"
                     "| model | data | 1 thread | 2 threads | 2 / 1 | 2 threads passive | passive / 1 | "
                     "two 1-thread runs at once / 1 |\n"
                     "|---|---|---:|---:|---:|---:|---:|---:|\n" + "\n".join(scaling_rows)))
    sections.append(("Same model check: mean loss of the first 5 steps",
                     "Ours from mind_train --max-steps 5, PyTorch's on the same batches and negatives (its own "
                     "random initial values, drawn from the same distributions).\n\n"
                     "| model | data | ours | PyTorch |\n|---|---|---:|---:|\n" + "\n".join(loss_rows)))


def scaling(args, workdir, sections):
    out = os.path.join(workdir, "run")
    sizes = [10_000, 100_000, 1_000_000]
    # 150 000 users (25 times the default), the same for every size, so that the 10^6 catalogue
    # really holds most of its items: with 6 000 users only ~144 000 of them occur in the log.
    users = ["--synthetic-users", str(SCALING_USERS)]
    warm = ours_train([*users, "--synthetic-items", "10000"], [], 150, 2, out)
    steps = 20 + max(50, int(warm["rate"] * args.seconds / BATCH))
    # Rounds over all sizes and thread counts, so that a noisy minute (at 10^6 items a step waits
    # on memory, which other machines' jobs share) hits every size alike; medians per cell. Within
    # a round the sizes of one thread count run back to back, smallest first in odd rounds and
    # largest first in even ones, so that a drift of the machine during a round favours neither
    # end. Five rounds: with three, one disturbed run moved the median ratio by 0.1-0.3.
    rounds = 1 if args.quick else 5
    log(f"\n== scaling with the catalogue size (MIND defaults, synthetic, {rounds} rounds)")
    ms_per_step, items, rss = {}, {}, {}
    for round_number in range(rounds):
        for threads in (1, 2):
            for size in (sizes if round_number % 2 == 0 else sizes[::-1]):
                run = ours_train([*users, "--synthetic-items", str(size)], [], steps, threads, out)
                ms = 1000.0 * BATCH / run["rate"]
                ms_per_step.setdefault((size, threads), []).append(ms)
                items[size] = run["items"]
                rss[(size, threads)] = max(rss.get((size, threads), 0), run["rss"])
                log(f"round {round_number + 1}: --synthetic-items {size} ({run['items']} items in the data), "
                    f"{threads} thread(s): {ms:.2f} ms/step, {fmt(run['rate'])} samples/s, "
                    f"peak RSS {fmt(run['rss'] / 1024)} MiB")
    rows = []
    for size in sizes:
        for threads in (1, 2):
            ms = median(ms_per_step[(size, threads)])
            base = median(ms_per_step[(sizes[0], threads)])
            # The same ratio taken within each round (the runs of a round are minutes apart, the
            # rounds further), then the median of those: the target's "median of pairwise ratios".
            per_round = [this / first for this, first in zip(ms_per_step[(size, threads)],
                                                             ms_per_step[(sizes[0], threads)])]
            every = ", ".join(f"{x:.2f}" for x in ms_per_step[(size, threads)])
            rows.append(f"| {fmt(size)} | {fmt(items[size])} | {threads} | {ms:.2f} | {ms / base:.2f} | "
                        f"{median(per_round):.2f} | {every} | {fmt(rss[(size, threads)] / 1024)} |")
    sections.append(("Step time against catalogue size (ours, MIND defaults)",
                     f"`--synthetic-users {SCALING_USERS} --synthetic-items S`: the data holds only the items that some "
                     "user interacted with (second column), which is N for the model. Median ms/step over "
                     f"{rounds} rounds (each round runs every size and thread count once, the sizes of one thread count "
                     "back to back, in rising order in odd rounds and falling in even ones). \"vs 10^4\" divides the "
                     "medians; \"per round\" is the median of the ratios taken within each round. Target: step time "
                     "at the largest ≤ 1.3× at 10^4.\n\n"
                     "| --synthetic-items | N in the data | threads | ms/step | vs 10^4 | vs 10^4, per round | "
                     "every round | peak RSS MiB |\n"
                     "|---:|---:|---:|---:|---:|---:|---|---:|\n" + "\n".join(rows)))


def retrieval(args, workdir, sections):
    rows = []
    configs = [(10_000, 5000 if not args.quick else 1000, 5), (1_000_000, 300 if not args.quick else 50, 3)]
    for items, users, repeats in configs:
        folder = os.path.join(workdir, f"retrieval-{items}")
        log(f"\n== retrieval, {items} items, {users} users")
        command = [BENCH_RETRIEVAL, "--items", str(items), "--users", str(users), "--repeats", str(repeats),
                   "--threads", "1", "2", "--check-users", "10", "--out", folder]
        LOG_LINES.append(command)
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        log(result.stdout.strip())
        if result.returncode != 0:
            raise SystemExit("compare: bench_retrieval failed:\n" + result.stdout + result.stderr)
        ours = {int(m.group(1)): float(m.group(2))
                for m in re.finditer(r"threads (\d+) users_per_second (\S+)", result.stdout)}
        faiss = {}
        check = ""
        for threads in (1, 2):
            command = [PYTHON, os.path.join(ROOT, "bench", "faiss_retrieval.py"), folder, "--threads", str(threads),
                       "--repeats", str(repeats)]
            LOG_LINES.append(command)
            result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=python_env(threads))
            log(result.stdout.strip())
            if result.returncode != 0:
                raise SystemExit("compare: faiss_retrieval failed:\n" + result.stdout + result.stderr)
            faiss[threads] = float(re.search(r"users_per_second (\S+)", result.stdout).group(1))
            check = re.search(r"faiss: (\d+ of \d+ sampled users.*)", result.stdout).group(1)
        best = max(faiss.values())
        rows.append(f"| {fmt(items)} | {users} | {fmt(ours[1])} | {fmt(ours[2])} | {fmt(faiss[1])} | {fmt(faiss[2])} | "
                    f"**{ours[2] / best:.2f}** | {check} |")
        shutil.rmtree(folder, ignore_errors=True)
    sections.append(("Exact top-50 retrieval with history exclusion: users/s, ours vs Faiss IndexFlatIP",
                     "d = 64, K = 4 (about half the users have fewer live interests), histories of 30-60 items; "
                     "random unit vectors, interests near history items. Faiss searches every live interest with "
                     "k = 50 + 60 (over-fetch, so excluding the history stays exact), then merges by max score and "
                     "drops history items in numpy; all of it is timed (adding the items to the index is not). "
                     "Ratio: ours with 2 threads / Faiss's best thread count. Target ≥ 1.5×.\n\n"
                     "| items | users | ours 1 thr | ours 2 thr | Faiss 1 thr | Faiss 2 thr | ours / best Faiss | lists |\n"
                     "|---:|---:|---:|---:|---:|---:|---:|---|\n" + "\n".join(rows)))


def gemm(args, workdir, sections):
    if not os.path.exists(BENCH_GEMM):
        sections.append(("GEMM at MIND's shapes vs OpenBLAS", "bench_gemm_openblas was not built (no OpenBLAS)."))
        return
    log("\n== gemm vs OpenBLAS")
    command = [BENCH_GEMM, "5", "0.05"]
    LOG_LINES.append(command)
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=python_env(1))
    log(result.stdout.strip())
    sections.append(("GEMM at MIND's shapes vs OpenBLAS (bench_gemm_openblas 5 0.05)",
                     "Target: ours ≥ 0.7× OpenBLAS.\n\n```\n" + result.stdout.strip() + "\n```"))


def machine(args, workdir, sections):
    title = "The machine: what a cache line costs between the two cores (core_to_core)"
    log("\n== the machine: a cache line between the cores")
    command = [CORE_TO_CORE, "--rounds", "3" if args.quick else "5"]
    LOG_LINES.append(command)
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    log(result.stdout.strip())
    if result.returncode != 0:  # e.g. a 1-CPU machine: the other figures still mean something
        failure = f"core_to_core failed (exit status {result.returncode}): {result.stderr.strip()}"
        log(f"compare: {failure}")
        sections.append((title, "Not measured: " + failure))
        return
    sections.append((title,
                     "Training on 2 threads shares one model between the cores: every step, rows written on one "
                     "core (the summed gradient, Adam's updates) are read on the other. Cores that share a "
                     "last-level cache pass a line in a few tens of ns; when a line costs about as much as a load "
                     "from memory, that traffic is what keeps the thread scaling below the machine's ceiling "
                     "(bench/README.md). Medians over the rounds.\n\n```\n" + result.stdout.strip() + "\n```"))


def machine_line():
    model = "unknown CPU"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} threads (nproc)"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("parts", nargs="+", choices=["machine", "training", "scaling", "retrieval", "gemm", "all"])
    parser.add_argument("--quick", action="store_true", help="short runs, fewer cases (a smoke test)")
    parser.add_argument("--results", default=os.path.join(ROOT, "bench", "RESULTS.md"), help="where to write the tables")
    args = parser.parse_args()
    args.seconds = 3.0 if args.quick else 8.0
    # Rounds per training case. The 2-vs-1-thread ratio of single rounds moved by ±0.2 on this
    # shared machine, so that with 3 rounds one disturbed round could move the median by 0.1-0.2.
    args.pairs = 2 if args.quick else 5
    parts = ["machine", "training", "scaling", "retrieval", "gemm"] if "all" in args.parts else args.parts
    for program in (MIND_TRAIN, DUMP_BATCHES, BENCH_RETRIEVAL, CORE_TO_CORE):
        if not os.path.exists(program):
            raise SystemExit(f"compare: {program} is missing: build Release into build/ first (bench/run_all.sh does)")
    started = time.time()
    load_before = os.getloadavg()
    sections = []
    with tempfile.TemporaryDirectory(prefix="mind-bench-") as workdir:  # (the name is kept for the log below)
        for part in parts:
            {"machine": machine, "training": training, "scaling": scaling, "retrieval": retrieval,
             "gemm": gemm}[part](args, workdir, sections)
    minutes = (time.time() - started) / 60.0
    load_after = os.getloadavg()
    header = (f"# Benchmark results\n\nMachine: {machine_line()}. Date: "
              f"{datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}. "
              f"Command: `bench/{'run_all.sh' if 'all' in args.parts else 'compare_training.sh'}"
              f"{' --quick' if args.quick else ''}` ({minutes:.1f} min; load average "
              f"{load_before[0]:.1f} before, {load_after[0]:.1f} after: on a shared 2-core machine the 2-thread "
              f"figures suffer first when other jobs run).\n")
    text = header + "".join(f"\n## {title}\n\n{body}\n" for title, body in sections)
    # Each distinct command once, in order, with the temporary folder written as $WORK.
    commands = list(dict.fromkeys(re.sub(r"run-\d+", "run", " ".join(c)).replace(workdir, "$WORK")
                                  for c in LOG_LINES))
    text += "\n## Commands run\n\n```\n" + "\n".join(commands) + "\n```\n"
    with open(args.results, "w") as file:
        file.write(text)
    log(f"\nwrote {args.results} ({minutes:.1f} min)")


if __name__ == "__main__":
    main()
