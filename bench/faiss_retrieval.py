#!/usr/bin/python3
"""faiss_retrieval: what a practitioner would run instead of our exact retrieval, timed.

Reads the vectors bench_retrieval --out wrote (items, users' interests with live counts,
histories), and for every user: searches each live interest in a Faiss IndexFlatIP with
k = top + longest history (over-fetching, so that the top list is still full after the user's
history is removed: exact, up to ties), merges the interests' candidates by max score, drops
history items and keeps the top list. The search, the merge and the exclusion are all timed;
building the index (adding the items) is not, as an index is built once and searched many times.
Prints users/s and checks the lists against ours (ours_top.npy) on a sample of users.
Run with OPENBLAS_NUM_THREADS equal to --threads (Faiss's matrix products go through OpenBLAS).
"""
import argparse
import statistics
import time

import faiss
import numpy as np


def merge_and_exclude(scores, ids, owners, counts, history, top):
    """Per-user top lists from per-interest candidates.

    scores, ids: [Q, k] Faiss results for the Q live interest rows; owners: [Q] user of each
    row (ascending). Returns [U, top] item ids, best first; ties to the lower id; -1 pads.
    """
    user_count = counts.shape[0]
    K = int(counts.max())
    k = ids.shape[1]
    # Lay every user's candidates out as one row of K*k (missing interests: -inf, id -1).
    first_row = np.zeros(user_count + 1, dtype=np.int64)
    np.cumsum(counts, out=first_row[1:])
    slot = np.arange(ids.shape[0]) - first_row[owners]  # the row's interest number within its user
    all_scores = np.full((user_count, K, k), -np.inf, dtype=np.float32)
    all_ids = np.full((user_count, K, k), -1, dtype=np.int64)
    all_scores[owners, slot] = scores
    all_ids[owners, slot] = ids
    all_scores = all_scores.reshape(user_count, K * k)
    all_ids = all_ids.reshape(user_count, K * k)
    # History items out: [U, K*k, H] comparisons, done in chunks of users to bound memory.
    chunk = max(1, 2_000_000 // (K * k * history.shape[1]))
    for begin in range(0, user_count, chunk):
        end = begin + chunk
        in_history = (all_ids[begin:end, :, None] == history[begin:end, None, :]).any(axis=2)
        all_scores[begin:end][in_history] = -np.inf
    all_scores[all_ids < 0] = -np.inf
    # An item found by several interests keeps its best score: sort by (id, score descending),
    # and drop each repeat of the id before it.
    order = np.lexsort((-all_scores, all_ids), axis=1)
    sorted_ids = np.take_along_axis(all_ids, order, axis=1)
    sorted_scores = np.take_along_axis(all_scores, order, axis=1)
    repeat = np.zeros_like(sorted_ids, dtype=bool)
    repeat[:, 1:] = sorted_ids[:, 1:] == sorted_ids[:, :-1]
    sorted_scores[repeat] = -np.inf
    # Top list: score descending, then id ascending (the rows are already in id order, so a
    # stable sort on -score keeps ties by id).
    best = np.argsort(-sorted_scores, axis=1, kind="stable")[:, :top]
    result = np.take_along_axis(sorted_ids, best, axis=1)
    result[np.take_along_axis(sorted_scores, best, axis=1) == -np.inf] = -1
    return result.astype(np.int32)


def retrieve(index, interests, counts, history, top):
    user_count, K, d = interests.shape
    live = np.arange(K)[None, :] < counts[:, None]              # [U, K]
    queries = np.ascontiguousarray(interests[live])             # [Q, d], user-major
    owners = np.nonzero(live)[0]                                # [Q]
    k = top + history.shape[1]                                  # over-fetch: top + longest history
    scores, ids = index.search(queries, k)
    return merge_and_exclude(scores, ids, owners, counts, history, top)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", help="bench_retrieval --out folder")
    parser.add_argument("--threads", type=int, default=1, help="faiss.omp_set_num_threads (default 1)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs; the median is reported (default 5)")
    parser.add_argument("--top", type=int, default=50, help="list length (default 50)")
    parser.add_argument("--check-users", type=int, default=200, help="users compared with ours (default 200)")
    args = parser.parse_args()

    items = np.load(f"{args.folder}/items.npy")
    interests = np.load(f"{args.folder}/interests.npy")
    counts = np.load(f"{args.folder}/counts.npy").astype(np.int64)
    history = np.load(f"{args.folder}/history.npy").astype(np.int64)  # -1 padded
    faiss.omp_set_num_threads(args.threads)
    index = faiss.IndexFlatIP(items.shape[1])
    index.add(items)

    lists = retrieve(index, interests, counts, history, args.top)  # warm-up
    seconds = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        lists = retrieve(index, interests, counts, history, args.top)
        seconds.append(time.perf_counter() - start)
    median = statistics.median(seconds)
    user_count = interests.shape[0]
    print(f"faiss: items {items.shape[0]} users {user_count} threads {args.threads} "
          f"users_per_second {user_count / median:.1f} (median of {args.repeats} runs, {median:.4f} s per run)")

    # The same lists as ours, up to ties: where they differ, the scores must be equal.
    ours = np.load(f"{args.folder}/ours_top.npy")
    sample = np.linspace(0, user_count - 1, min(args.check_users, user_count)).astype(np.int64)
    identical = 0
    same_up_to_ties = 0
    for user in sample:
        if np.array_equal(ours[user], lists[user]):
            identical += 1
            same_up_to_ties += 1
            continue
        live = interests[user, :counts[user]]
        def scores_of(list_):
            return np.sort((items[list_] @ live.T).max(axis=1))
        if np.allclose(scores_of(ours[user]), scores_of(lists[user]), rtol=0, atol=1e-5):
            same_up_to_ties += 1
    print(f"faiss: {identical} of {len(sample)} sampled users have the same top-{args.top} list as ours, "
          f"{same_up_to_ties} the same up to ties")
    if same_up_to_ties != len(sample):
        raise SystemExit("faiss_retrieval: the lists differ from ours beyond ties")


if __name__ == "__main__":
    main()
