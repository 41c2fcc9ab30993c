#!/usr/bin/python3
"""torch_mind: MIND (and YouTube DNN) as a PyTorch user would write them, timed on our batches.

The same model as models/mind.cpp (docs/design.md section 2), written the ordinary PyTorch way in
python/mind_torch.py (whose state_dict is our checkpoint's; check_parity.py loads runs into it):
  - item embedding nn.Embedding(sparse=True), mean-pooled with the item's category rows through an
    nn.EmbeddingBag (e_i = (E[i] + sum_c C[c]) / (1 + |cats(i)|)); padding (-1) is a zero row;
  - profile fields: one sparse nn.Embedding each, concatenated into p_u;
  - B2I routing: shared bilinear S (u_hat = e S^T), fixed routing logits b0 [K, L] ~ N(0, 1),
    R = 3 iterations, softmax over interests, padding and dead interests masked, squash,
    logit updates without gradient (stop-gradient), dynamic K'_u = max(1, min(K, floor(log2 n)));
  - MLP [c_j ; p_u] -> ReLU(2d) -> d;
  - hard label-aware attention (argmax_j v_j . e_t over live interests);
  - sampled softmax over the M shared log-uniform negatives of the batch, with the log-Q
    correction -log(M Q(x)) and accidental hits removed;
  - Adam for dense parameters, SparseAdam for the embedding tables (both lr 1e-3).
YouTube DNN (--model youtube_dnn): masked mean of the history, concat p_u, the same MLP and loss.
It reads the batches bench/dump_batches wrote (the same batches and negatives mind_train uses),
cycles over them for --steps, and times the steps after --warmup. Not a trainer: no evaluation.
"""
import argparse
import json
import os
import resource
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import mind_torch  # noqa: E402  (the model, shared with the parity check: python/mind_torch.py)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("batches", help="folder written by bench/dump_batches")
    parser.add_argument("--model", choices=["mind", "youtube_dnn"], default="mind")
    parser.add_argument("--dim", type=int, default=64, help="embedding width d (default 64)")
    parser.add_argument("--interests", type=int, default=4, help="K (default 4)")
    parser.add_argument("--routing-iterations", type=int, default=3, help="R (default 3)")
    parser.add_argument("--steps", type=int, default=300, help="timed steps (default 300)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed steps first (default 20)")
    parser.add_argument("--seconds", type=float, default=0.0,
                        help="if > 0: time as many steps as fit in this many seconds instead of --steps")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    with open(f"{args.batches}/meta.json") as file:
        meta = json.load(file)
    N = meta["item_count"]
    load = lambda name: torch.from_numpy(np.load(f"{args.batches}/{name}.npy").astype(np.int64))
    history = load("history")  # -1 padded, as mind_torch expects
    lengths, targets, profile, negatives = load("lengths"), load("targets"), load("profile"), load("negatives")
    item_categories = np.load(f"{args.batches}/item_categories.npy")
    batch_count = history.shape[0]

    category_offsets, category_indices = mind_torch.csr_from_padded(item_categories)
    cardinalities = meta["profile_cardinalities"]
    model = mind_torch.Recommender(
        args.model, N, args.dim, args.interests, meta["L"], args.routing_iterations, hidden=[2 * args.dim],
        category_count=meta["category_count"], category_offsets=category_offsets, category_indices=category_indices,
        profile_fields=[f"field{f}" for f in range(len(cardinalities))], profile_cardinalities=cardinalities,
        profile_width=meta["profile_width"])
    sparse, dense = model.sparse_and_dense_parameters()
    optimizers = [torch.optim.Adam(dense, lr=args.lr), torch.optim.SparseAdam(sparse, lr=args.lr)]

    def step(i):
        j = i % batch_count
        for optimizer in optimizers:
            optimizer.zero_grad()
        loss = model(history[j], lengths[j], profile[j], targets[j], negatives[j])
        loss.backward()
        for optimizer in optimizers:
            optimizer.step()
        return loss.item()

    first_losses = [step(i) for i in range(args.warmup)]
    timed = 0
    start = time.perf_counter()
    while True:
        step(args.warmup + timed)
        timed += 1
        elapsed = time.perf_counter() - start
        if (args.seconds > 0 and elapsed >= args.seconds) or (args.seconds <= 0 and timed >= args.steps):
            break
    B = history.shape[1]
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("first losses: " + " ".join(f"{loss:.4f}" for loss in first_losses[:5]))
    print(f"torch: model {args.model} d {args.dim} threads {args.threads} steps {timed} "
          f"samples_per_second {timed * B / elapsed:.1f} ms_per_step {1000 * elapsed / timed:.3f} "
          f"peak_rss_kib {peak_kib}")


if __name__ == "__main__":
    main()
