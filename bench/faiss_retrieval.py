#!/usr/bin/python3
"""faiss_retrieval: what a practitioner would run instead of our exact retrieval, timed.

Reads the vectors bench_retrieval --out wrote (items, users' interests with live counts,
histories), and for every user: searches each live interest in a Faiss IndexFlatIP, drops the
user's history items from each interest's candidates, merges the interests' candidates by max
score and keeps the top list. The over-fetch adapts, as a careful practitioner would write it:
each interest is searched with k = 2 top, and the interests left with fewer than top
non-history candidates are searched again with k doubled (a single k = top + the longest history
would over-fetch for almost every user once whole, heavy-tailed histories are excluded, as
mind_recommend --all does). Exact up to ties: an item missing from an interest's list scores
below `top` non-history items of that list. The search, the exclusion and the merge are timed;
building the index (adding the items) is not, as an index is built once and searched many times.
Prints users/s and checks the lists against ours (ours_top.npy) on a sample of users.
Run with OPENBLAS_NUM_THREADS equal to --threads (Faiss's matrix products go through OpenBLAS).
"""
import argparse
import statistics
import time

import faiss
import numpy as np


def search_excluding_history(index, queries, owners, history, top):
    """Each query's best `top` items outside its user's history: scores, ids [Q, top], best first.

    queries [Q, d]; owners [Q] the user of each query; history [U, H] item ids, -1 padded.
    """
    query_count = queries.shape[0]
    item_count = index.ntotal
    bound = item_count + 1
    user_rows = np.arange(history.shape[0], dtype=np.int64)[:, None]
    history_keys = np.unique((user_rows * bound + history)[history >= 0])  # (user, item) keys
    best_scores = np.full((query_count, top), -np.inf, dtype=np.float32)
    best_ids = np.full((query_count, top), -1, dtype=np.int64)
    pending = np.arange(query_count)
    k = min(2 * top, item_count)
    while pending.size:
        scores, ids = index.search(queries[pending], k)                         # [P, k]
        keys = owners[pending][:, None] * bound + ids
        kept = (ids >= 0) & ~np.isin(keys, history_keys, assume_unique=False)
        rank = np.cumsum(kept, axis=1)                                          # 1-based among kept
        done = (rank[:, -1] >= top) | (k == item_count)                         # full, or nothing left
        rows, columns = np.nonzero(kept[done] & (rank[done] <= top))
        targets = pending[done][rows]
        best_scores[targets, rank[done][rows, columns] - 1] = scores[done][rows, columns]
        best_ids[targets, rank[done][rows, columns] - 1] = ids[done][rows, columns]
        pending = pending[~done]
        k = min(2 * k, item_count)
    return best_scores, best_ids


def merge(scores, ids, owners, counts, top):
    """Per-user top lists from per-interest candidates (history already removed).

    scores, ids: [Q, k] per live interest row; owners: [Q] user of each row (ascending).
    Returns [U, top] item ids, best first; ties to the lower id; -1 pads.
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
    scores, ids = search_excluding_history(index, queries, owners, history, top)
    return merge(scores, ids, owners, counts, top)


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
