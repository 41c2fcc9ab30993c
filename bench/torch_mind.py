#!/usr/bin/python3
"""torch_mind: MIND (and YouTube DNN) as a PyTorch user would write them, timed on our batches.

The same model as models/mind.cpp (docs/design.md section 2), written the ordinary PyTorch way:
  - item embedding nn.Embedding(sparse=True), mean-pooled with the item's category rows
    (e_i = (E[i] + sum_c C[c]) / (1 + |cats(i)|)); padding (-1) is a zero row;
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
import math
import resource
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def glorot_(tensor):
    fan_out, fan_in = tensor.shape[-2], tensor.shape[-1]
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    with torch.no_grad():
        tensor.uniform_(-limit, limit)
    return tensor


def sparse_embedding(rows, width, padding_row=None):
    """N(0, 1/width) rows, as ours; the padding row (if any) is zero and gets no update."""
    table = nn.Embedding(rows, width, padding_idx=padding_row, sparse=True)
    with torch.no_grad():
        table.weight.normal_(0.0, 1.0 / math.sqrt(width))
        if padding_row is not None:
            table.weight[padding_row].zero_()
    return table


class ItemEmbedding(nn.Module):
    """e_i = (E[i] + sum of C[c] over cats(i)) / (1 + |cats(i)|); id item_count is padding."""

    def __init__(self, item_count, category_count, item_categories, d):
        super().__init__()
        self.item_count = item_count
        self.items = sparse_embedding(item_count + 1, d, padding_row=item_count)
        self.category_count = category_count
        if category_count > 0:
            self.categories = sparse_embedding(category_count + 1, d, padding_row=category_count)
            cats = torch.from_numpy(item_categories.astype(np.int64))           # [N, C_max], -1 padded
            sizes = (cats >= 0).sum(dim=1)
            cats = torch.where(cats >= 0, cats, torch.full_like(cats, category_count))
            padding = torch.full((1, cats.shape[1]), category_count, dtype=torch.int64)
            self.register_buffer("item_cats", torch.cat([cats, padding]))       # [N + 1, C_max]
            scale = torch.cat([1.0 / (1.0 + sizes.float()), torch.zeros(1)])
            self.register_buffer("pool_scale", scale.unsqueeze(1))            # [N + 1, 1]

    def forward(self, ids):  # ids [...] -> [..., d]
        rows = self.items(ids)
        if self.category_count == 0:
            return rows
        return (rows + self.categories(self.item_cats[ids]).sum(dim=-2)) * self.pool_scale[ids]


def squash(z, eps=1e-8):
    norm2 = (z * z).sum(dim=-1, keepdim=True)
    return z * (norm2 / (1.0 + norm2)) / torch.sqrt(norm2 + eps)


class Recommender(nn.Module):
    def __init__(self, meta, item_categories, model, d, K, R, hidden):
        super().__init__()
        self.model, self.d, self.K, self.R = model, d, K, R
        self.L = meta["L"]
        self.item_count = meta["item_count"]
        self.item_embedding = ItemEmbedding(self.item_count, meta["category_count"], item_categories, d)
        width = meta["profile_width"]
        self.profile = nn.ModuleList([sparse_embedding(c, width) for c in meta["profile_cardinalities"]])
        profile_width = width * len(self.profile)
        if model == "mind":
            self.bilinear = nn.Linear(d, d, bias=False)
            glorot_(self.bilinear.weight)
            self.register_buffer("routing_logits", torch.randn(K, self.L))      # b0 [K, L], fixed
        self.hidden = nn.Linear(d + profile_width, hidden)
        self.output = nn.Linear(hidden, d)
        for layer in (self.hidden, self.output):
            glorot_(layer.weight)
            nn.init.zeros_(layer.bias)
        # log(M Q(r)) needs N; M comes with the batch.
        self.log_range = math.log(self.item_count + 1.0)

    def log_q(self, ranks):
        ranks = ranks.double()
        return (torch.log((ranks + 2.0) / (ranks + 1.0)) / self.log_range).log().float()

    def user_interests(self, history, lengths, profile):
        B = history.shape[0]
        e = self.item_embedding(history)                                        # [B, L, d]
        p = torch.cat([table(profile[:, f]) for f, table in enumerate(self.profile)], dim=1) if len(self.profile) else None
        if self.model == "youtube_dnn":
            pooled = e.sum(dim=1) / lengths.unsqueeze(1).float()                 # [B, d]
            x = pooled if p is None else torch.cat([pooled, p], dim=1)
            v = self.output(F.relu(self.hidden(x)))                              # [B, d]
            return v.unsqueeze(1), torch.ones(B, 1, dtype=torch.bool)
        # B2I routing.
        u_hat = self.bilinear(e)                                                 # [B, L, d]
        live_count = torch.clamp(torch.floor(torch.log2(lengths.float())), 1, self.K).long()  # K'_u
        positions = torch.arange(self.L).unsqueeze(0)
        interest_live = torch.arange(self.K).unsqueeze(0) < live_count.unsqueeze(1)           # [B, K]
        mask = interest_live.unsqueeze(2) & (positions < lengths.unsqueeze(1)).unsqueeze(1)   # [B, K, L]
        b = self.routing_logits.expand(B, self.K, self.L)
        u_hat_const = u_hat.detach()
        for iteration in range(self.R):
            w = torch.softmax(b.masked_fill(~mask, -math.inf), dim=1).masked_fill(~mask, 0.0)  # over interests
            c = squash(torch.bmm(w, u_hat))                                      # [B, K, d]
            if iteration + 1 < self.R:
                b = b + torch.bmm(c.detach(), u_hat_const.transpose(1, 2))       # b += c . u_hat
        x = c if p is None else torch.cat([c, p.unsqueeze(1).expand(B, self.K, p.shape[1])], dim=2)
        v = self.output(F.relu(self.hidden(x)))                                  # [B, K, d]
        return v, interest_live

    def forward(self, history, lengths, profile, targets, negatives):
        v, interest_live = self.user_interests(history, lengths, profile)
        e_t = self.item_embedding(targets)                                       # [B, d]
        if self.model == "mind":
            scores = torch.bmm(v, e_t.unsqueeze(2)).squeeze(2).masked_fill(~interest_live, -math.inf)
            user = v[torch.arange(v.shape[0]), scores.argmax(dim=1)]             # hard attention [B, d]
        else:
            user = v[:, 0]
        e_n = self.item_embedding(negatives)                                     # [M, d]
        M = negatives.shape[0]
        log_m = math.log(M)
        target_logit = (user * e_t).sum(dim=1, keepdim=True) - (log_m + self.log_q(targets)).unsqueeze(1)
        negative_logits = user @ e_n.t() - (log_m + self.log_q(negatives)).unsqueeze(0)
        negative_logits = negative_logits.masked_fill(negatives.unsqueeze(0) == targets.unsqueeze(1), -math.inf)
        logits = torch.cat([target_logit, negative_logits], dim=1)              # [B, 1 + M]
        return F.cross_entropy(logits, torch.zeros(logits.shape[0], dtype=torch.long))


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
    history = load("history")
    history = torch.where(history >= 0, history, torch.full_like(history, N))  # padding -> zero row N
    lengths, targets, profile, negatives = load("lengths"), load("targets"), load("profile"), load("negatives")
    item_categories = np.load(f"{args.batches}/item_categories.npy")
    batch_count = history.shape[0]

    model = Recommender(meta, item_categories, args.model, args.dim, args.interests, args.routing_iterations,
                        hidden=2 * args.dim)
    sparse = [p for name, p in model.named_parameters() if "item_embedding" in name or name.startswith("profile")]
    dense = [p for name, p in model.named_parameters() if not ("item_embedding" in name or name.startswith("profile"))]
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
