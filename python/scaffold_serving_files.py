"""scaffold_serving_files: TEMPORARY. Writes the run-folder serving files check_parity.py reads
(user_history_offsets.npy, user_history_items.npy, item_category_offsets.npy,
item_category_indices.npy) into a run trained before mind_train wrote them itself.

Delete this file once mind_train writes the serving files (issue 20, "A run folder that stands
alone"); it exists so check_parity.py could be developed before that landed. It is a small
protocol-v1 re-implementation for CSV/MovieLens ratings logs (user, item, rating, timestamp
columns, header row): each user's rows stably sorted by timestamp, ids mapped through the run's
users.tsv and items.tsv. Categories come from bench/dump_batches' item_categories.npy for the
same data (exactly the C++ reader's), not re-derived here.

    ./build/bench/dump_batches --data DATA --steps 1 --out /tmp/batches
    python3 python/scaffold_serving_files.py RUN --ratings DATA/ratings.csv --batches /tmp/batches
"""
import argparse
import csv
import os

import numpy as np

from mind_torch import csr_from_padded


def read_id_map(path):
    """index<TAB>original_id (with its header row) -> {original_id: index}."""
    mapping = {}
    with open(path) as file:
        for line_number, line in enumerate(file, 1):
            index, original = line.rstrip("\n").split("\t")
            if line_number == 1 and not index.isdigit():
                continue
            mapping[original] = int(index)
    return mapping


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run")
    parser.add_argument("--ratings", required=True, help="the ratings CSV the run was trained on")
    parser.add_argument("--batches", required=True, help="a bench/dump_batches folder for the same data")
    args = parser.parse_args()

    users = read_id_map(os.path.join(args.run, "users.tsv"))
    items = read_id_map(os.path.join(args.run, "items.tsv"))
    rows = {}  # user index -> [(timestamp, file order, item index)]
    with open(args.ratings) as file:
        reader = csv.reader(file)
        header = next(reader)
        user_column, item_column, time_column = header.index("userId"), header.index("movieId"), header.index("timestamp")
        for order, fields in enumerate(reader):
            user, item = users[fields[user_column]], items[fields[item_column]]
            rows.setdefault(user, []).append((float(fields[time_column]), order, item))
    offsets = [0]
    sequence_items = []
    for user in range(len(users)):
        sequence = sorted(rows.get(user, []))  # timestamp, ties in file order
        sequence_items.extend(item for _, _, item in sequence)
        offsets.append(len(sequence_items))
    np.save(os.path.join(args.run, "user_history_offsets.npy"), np.array(offsets, dtype=np.int64))
    np.save(os.path.join(args.run, "user_history_items.npy"), np.array(sequence_items, dtype=np.int32))

    category_offsets, category_indices = csr_from_padded(np.load(os.path.join(args.batches, "item_categories.npy")))
    if category_offsets.shape[0] != len(items) + 1:
        raise SystemExit(f"{args.batches}/item_categories.npy has {category_offsets.shape[0] - 1} items, "
                         f"the run {len(items)}")
    np.save(os.path.join(args.run, "item_category_offsets.npy"), category_offsets)
    np.save(os.path.join(args.run, "item_category_indices.npy"), category_indices.astype(np.int32))
    print(f"scaffold: wrote histories of {len(users)} users ({len(sequence_items)} items) and the categories "
          f"of {len(items)} items to {args.run}")


if __name__ == "__main__":
    main()
