#!/usr/bin/python3
"""check_parity: a mind.cpp run, loaded into PyTorch, gives the run's own numbers and keeps training.

From the run folder only (checkpoint + serving files, see python/README.md):
  1. builds python/mind_torch.py's model from the checkpoint's metadata and loads its weights;
  2. recomputes the exported item vectors (item_embeddings.npy), the test users' interests
     (user_interests.npy, user_interest_counts.npy, test_users.tsv: protocol v1's first
     ceil(0.8 m) items of each sequence, the last L of them as input) and, when the run has them,
     every user's interests (all_user_interests.npy, all_user_interest_counts.npy: the last L
     items of the whole sequence), and fails unless each interest vector agrees to --tolerance
     relative (max |torch - ours| over the vector / max |ours| over the vector) and every count
     is equal;
  3. continues training for --steps steps on every user's training samples (every t >= 1 of the
     whole sequence, as mind_train --split none): sampled softmax with the log-Q correction over
     M shared log-uniform negatives, Adam for the dense weights and SparseAdam for the tables, and
     fails unless every loss is finite and the loss on a fixed set of batches went down.
Exit status 0 when all checks pass, 1 otherwise. Needs python3-torch and python3-numpy; not part
of the CI test suite (bench/README.md, "Continue in PyTorch").
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mind_torch  # noqa: E402


def read_original_ids(path):
    """A `index/row<TAB>original_id` TSV (header row) -> list of original ids in row order."""
    ids = []
    with open(path) as file:
        for line_number, line in enumerate(file, 1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 2:
                raise ValueError(f"{path}:{line_number}: expected two tab-separated columns")
            if line_number == 1 and not parts[0].isdigit():
                continue
            if int(parts[0]) != len(ids):
                raise ValueError(f"{path}:{line_number}: row {parts[0]} out of order (expected {len(ids)})")
            ids.append(parts[1])
    return ids


def require(run, name):
    path = os.path.join(run, name)
    if not os.path.exists(path):
        raise SystemExit(f"check_parity: {path} is missing (a run folder written by mind_train with the "
                         f"serving files; python/README.md)")
    return path


def batch_inputs(histories, offsets, users, ends, L, profile):
    """The model's input for (user, end) pairs: items [end - L, end) of the user's sequence, left-aligned."""
    B = len(users)
    history = np.full((B, L), -1, dtype=np.int64)   # [B, L]
    lengths = np.zeros(B, dtype=np.int64)           # [B]
    for row, (user, end) in enumerate(zip(users, ends)):
        begin = max(0, end - L)
        history[row, :end - begin] = histories[offsets[user] + begin:offsets[user] + end]
        lengths[row] = end - begin
    profile_rows = torch.from_numpy(profile[users].astype(np.int64)) if profile is not None else None
    return torch.from_numpy(history), torch.from_numpy(lengths), profile_rows


def interests_of(model, histories, offsets, users, ends, profile, batch_size=512):
    """Live interests first, dead rows zero, as our exports: [U, K, d] and counts [U]."""
    outputs, counts = [], []
    with torch.no_grad():
        for first in range(0, len(users), batch_size):
            history, lengths, profile_rows = batch_inputs(histories, offsets, users[first:first + batch_size],
                                                          ends[first:first + batch_size], model.L, profile)
            v, live = model.user_interests(history, lengths, profile_rows)
            outputs.append((v * live.unsqueeze(2)).numpy())
            counts.append(live.sum(dim=1).numpy())
    return np.concatenate(outputs), np.concatenate(counts)


def relative_error(ours, theirs):
    """Per vector (last axis): max |ours - theirs| / max |theirs|; the largest over all vectors."""
    scale = np.abs(theirs).max(axis=-1)
    difference = np.abs(ours - theirs).max(axis=-1)
    live = scale > 0
    if np.any(difference[~live] > 0):
        return math.inf  # a vector that should be zero is not
    return float((difference[live] / scale[live]).max()) if live.any() else 0.0


def compare(name, ours, theirs, our_counts, their_counts, tolerance):
    if ours.shape != theirs.shape:
        print(f"FAIL {name}: shape {list(ours.shape)}, the run's {list(theirs.shape)}")
        return False
    counts_equal = our_counts is None or np.array_equal(our_counts, their_counts)
    error = relative_error(ours, theirs)
    passed = counts_equal and error <= tolerance
    print(f"{'ok  ' if passed else 'FAIL'} {name}: {ours.shape[0]} rows, max relative error {error:.3g} "
          f"(tolerance {tolerance:g})" + ("" if counts_equal else ", interest counts differ"))
    return passed


def training_samples(offsets):
    """(user, t) for every t >= 1 of every user's sequence: history s[t-L..t-1], target s[t]."""
    users, ends = [], []
    for user in range(len(offsets) - 1):
        length = int(offsets[user + 1] - offsets[user])
        users.extend([user] * max(0, length - 1))
        ends.extend(range(1, length))
    return np.array(users, dtype=np.int64), np.array(ends, dtype=np.int64)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", help="a mind_train --out folder")
    parser.add_argument("--checkpoint", default="best.safetensors",
                        help="the weights the exports were computed with (default best.safetensors)")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="relative tolerance (default 1e-4)")
    parser.add_argument("--steps", type=int, default=30, help="training steps to continue for (default 30)")
    parser.add_argument("--probe-batches", type=int, default=4,
                        help="batches the steps cycle over and the loss is measured on (default 4)")
    parser.add_argument("--batch-size", type=int, default=0, help="B (default: the run's)")
    parser.add_argument("--negatives", type=int, default=0, help="M (default: the run's)")
    parser.add_argument("--lr", type=float, default=0.0, help="Adam learning rate (default: the run's)")
    parser.add_argument("--seed", type=int, default=1, help="seeds the samples and negatives (default 1)")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    run = args.run

    with open(require(run, "run.json")) as file:
        settings = json.load(file)
    batch_size = args.batch_size or int(settings.get("batch_size", 128))
    negatives = args.negatives or int(settings.get("model", {}).get("negatives", 1280))
    learning_rate = args.lr or float(settings.get("learning_rate", 1e-3))

    start = time.perf_counter()
    model = mind_torch.load_run(run, args.checkpoint)
    user_ids = read_original_ids(require(run, "users.tsv"))
    offsets = np.load(require(run, "user_history_offsets.npy"))
    histories = np.load(require(run, "user_history_items.npy")).astype(np.int64)
    if offsets.shape[0] != len(user_ids) + 1:
        raise SystemExit(f"check_parity: user_history_offsets.npy has {offsets.shape[0] - 1} users, users.tsv "
                         f"{len(user_ids)}")
    profile = np.load(require(run, "user_profile.npy")) if len(model.profile) else None
    print(f"{run}: {model.model}, {model.item_count} items, {len(user_ids)} users, d {model.d}, K {model.K}, "
          f"L {model.L}; loaded in {time.perf_counter() - start:.2f} s")

    passed = True
    with torch.no_grad():
        items = model.embed_items(torch.arange(model.item_count)).numpy()
    passed &= compare("item_embeddings.npy", items, np.load(require(run, "item_embeddings.npy")), None, None,
                      args.tolerance)

    # The test users' exports: protocol v1's evaluation history, the first ceil(0.8 m) items.
    index_of = {original: index for index, original in enumerate(user_ids)}
    test_users = np.array([index_of[original] for original in read_original_ids(require(run, "test_users.tsv"))],
                          dtype=np.int64)
    lengths = offsets[test_users + 1] - offsets[test_users]
    ends = np.minimum(np.maximum(np.ceil(0.8 * lengths).astype(np.int64), 1), lengths - 1)
    ours, counts = interests_of(model, histories, offsets, test_users, ends, profile)
    passed &= compare("user_interests.npy (test users)", ours, np.load(require(run, "user_interests.npy")),
                      counts, np.load(require(run, "user_interest_counts.npy")), args.tolerance)

    if os.path.exists(os.path.join(run, "all_user_interests.npy")):
        every_user = np.array([index_of[original] for original in read_original_ids(require(run, "all_users.tsv"))],
                              dtype=np.int64)
        ours, counts = interests_of(model, histories, offsets, every_user, offsets[1:] - offsets[:-1], profile)
        passed &= compare("all_user_interests.npy (every user)", ours, np.load(require(run, "all_user_interests.npy")),
                          counts, np.load(require(run, "all_user_interest_counts.npy")), args.tolerance)
    else:
        print(f"skip all_user_interests.npy: not in {run} (older run)")

    # Continue training: a few steps of the trainer's loss and optimisers on fixed batches.
    sample_users, sample_ends = training_samples(offsets)
    order = np.random.default_rng(args.seed).permutation(len(sample_users))[:args.probe_batches * batch_size]
    generator = torch.Generator().manual_seed(args.seed)
    batches = []
    for first in range(0, len(order), batch_size):
        chosen = order[first:first + batch_size]
        history, lengths, profile_rows = batch_inputs(histories, offsets, sample_users[chosen], sample_ends[chosen],
                                                      model.L, profile)
        targets = torch.from_numpy(histories[offsets[sample_users[chosen]] + sample_ends[chosen]])
        batches.append((history, lengths, profile_rows, targets, model.sample_negatives(negatives, generator)))

    def probe_loss():
        with torch.no_grad():
            return float(np.mean([model(*batch).item() for batch in batches]))

    sparse, dense = model.sparse_and_dense_parameters()
    optimizers = [torch.optim.Adam(dense, lr=learning_rate), torch.optim.SparseAdam(sparse, lr=learning_rate)]
    before = probe_loss()
    losses = []
    start = time.perf_counter()
    for step in range(args.steps):
        for optimizer in optimizers:
            optimizer.zero_grad()
        loss = model(*batches[step % len(batches)])
        loss.backward()
        for optimizer in optimizers:
            optimizer.step()
        losses.append(loss.item())
        if not math.isfinite(losses[-1]):
            break
    after = probe_loss()
    finite = all(math.isfinite(loss) for loss in losses) and math.isfinite(after)
    went_down = finite and after < before
    print(f"{'ok  ' if went_down else 'FAIL'} continued training: {len(losses)} steps (B {batch_size}, M {negatives}, "
          f"lr {learning_rate:g}) in {time.perf_counter() - start:.2f} s; loss on {len(batches)} fixed batches "
          f"{before:.4f} -> {after:.4f}; step losses " + " ".join(f"{loss:.3f}" for loss in losses[:3]) + " ... "
          + " ".join(f"{loss:.3f}" for loss in losses[-3:]))
    passed &= went_down
    print("parity: all checks passed" if passed else "parity: FAILED")
    return 0 if passed else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ValueError, IndexError, KeyError) as error:  # a malformed run folder: say what, no traceback
        sys.exit(f"check_parity: {error}")
