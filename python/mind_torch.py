"""mind_torch: MIND and YouTube DNN as plain PyTorch modules whose state_dict is a mind.cpp checkpoint.

The same model as models/mind.cpp and models/youtube_dnn.cpp (docs/design.md section 2). The module's
state_dict names and shapes are exactly the checkpoint's, so a trained run continues in PyTorch
(DDP, TorchRec, ...) with `model.load_state_dict(tensors)`:

    item_embedding.weight       [N, d]       e_i = (E[i] + sum_c C[c]) / (1 + |cats(i)|)
    category_embedding.weight   [C, d]       only when the run pools categories
    profile.<field>.weight      [values, w]  one table per profile field, concatenated into p_u
    routing.bilinear.weight     [d, d]       MIND: u_hat_i = S e_i (y = x W^T)
    routing.logits              [K, L]       MIND: the fixed initial routing logits b0 (a buffer)
    mlp.<i>.weight, mlp.<i>.bias             [c_j ; p_u] -> ReLU between layers -> d

Positions of a history are left-aligned (oldest first), padding is -1 after the last item, as in
our batches; the routing logits are indexed by position, so the alignment matters.

    import mind_torch
    model = mind_torch.load_run("runs/ml")          # checkpoint + run folder files
    interests, live = model.user_interests(history, lengths, profile)   # [B, K, d], [B, K]
    loss = model(history, lengths, profile, targets, negatives)         # sampled softmax, log-Q

Hyper-parameters come from the checkpoint's __metadata__ (model, d, K, L, R, routing_softmax,
dynamic_k, routing_gradient, squash_power, attention_power, hidden, use_categories,
profile_width, items). ComiRec checkpoints are refused with a message (not written here).
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from safetensors_numpy import load_safetensors

MASKED_LOGIT = -1e30  # finite: a fully masked softmax slice stays NaN-free, then is zeroed


def glorot_(tensor):
    fan_out, fan_in = tensor.shape[-2], tensor.shape[-1]
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    with torch.no_grad():
        tensor.uniform_(-limit, limit)
    return tensor


def embedding_table(rows, width, bag=False):
    """N(0, 1/width) rows as ours, with sparse gradients (SparseAdam); no padding row."""
    table = nn.EmbeddingBag(rows, width, mode="sum", sparse=True) if bag else nn.Embedding(rows, width, sparse=True)
    with torch.no_grad():
        table.weight.normal_(0.0, 1.0 / math.sqrt(width))
    return table


def squash(z, power=1.0, eps=1e-8):
    """squash(z) = (s / (1 + s))^q z / sqrt(s + eps), s = |z|^2 (autograd/ops_vector.cpp)."""
    s = (z * z).sum(dim=-1, keepdim=True)
    return z * (s / (1.0 + s)).pow(power) / torch.sqrt(s + eps)


def live_interest_counts(lengths, K, dynamic):
    """K'_u = max(1, min(K, floor(log2 n_u))) (dynamic), else K."""
    if not dynamic:
        return torch.full_like(lengths, K)
    floor_log2 = torch.floor(torch.log2(lengths.clamp(min=1).double())).long()
    return floor_log2.clamp(1, K)


def csr_from_padded(item_categories):
    """An [N, C_max] array padded with -1 -> (offsets int64 [N + 1], indices int64 [nnz])."""
    valid = item_categories >= 0
    offsets = np.concatenate([[0], np.cumsum(valid.sum(axis=1))]).astype(np.int64)
    return offsets, item_categories[valid].astype(np.int64)


class CapsuleRouting(nn.Module):
    """B2I dynamic routing (nn/capsule_routing.cpp), one shared bilinear map S."""

    def __init__(self, d, K, L, R, over_interests=True, dynamic=True, routing_gradient=False, squash_power=1.0):
        super().__init__()
        self.K, self.L, self.R = K, L, R
        self.over_interests, self.dynamic = over_interests, dynamic
        self.routing_gradient, self.squash_power = routing_gradient, squash_power
        self.bilinear = nn.Linear(d, d, bias=False)
        glorot_(self.bilinear.weight)
        self.register_buffer("logits", torch.randn(K, L))                             # b0 [K, L], never trained

    def forward(self, e, lengths):  # e [B, L, d], lengths [B] -> capsules [B, K, d], live [B, K]
        B = e.shape[0]
        u_hat = self.bilinear(e)                                                       # [B, L, d]
        live = torch.arange(self.K).unsqueeze(0) < live_interest_counts(lengths, self.K, self.dynamic).unsqueeze(1)
        real = torch.arange(self.L).unsqueeze(0) < lengths.unsqueeze(1)                # [B, L]
        mask = live.unsqueeze(2) & real.unsqueeze(1)                                    # [B, K, L]
        u_hat_for_update = u_hat if self.routing_gradient else u_hat.detach()
        b = self.logits.expand(B, self.K, self.L)
        axis = 1 if self.over_interests else 2
        for iteration in range(self.R):
            w = torch.softmax(b.masked_fill(~mask, MASKED_LOGIT), dim=axis).masked_fill(~mask, 0.0)  # [B, K, L]
            c = squash(torch.bmm(w, u_hat), self.squash_power)                         # [B, K, d]
            if iteration + 1 < self.R:
                c_for_update = c if self.routing_gradient else c.detach()
                b = b + torch.bmm(c_for_update, u_hat_for_update.transpose(1, 2))     # b += c . u_hat
        return c, live


class Recommender(nn.Module):
    """MIND (model="mind") or YouTube DNN (model="youtube_dnn"), named as our checkpoints."""

    def __init__(self, model, item_count, d, K, L, R=3, hidden=None, category_count=0, category_offsets=None,
                 category_indices=None, profile_fields=(), profile_cardinalities=(), profile_width=8,
                 routing_softmax="interests", dynamic_k=True, routing_gradient=False, squash_power=1.0,
                 attention_power="hard"):
        super().__init__()
        if model not in ("mind", "youtube_dnn"):
            raise ValueError(f"model '{model}': mind_torch has MIND and YouTube DNN only")
        self.model, self.item_count, self.d, self.L = model, item_count, d, L
        self.K = K if model == "mind" else 1
        self.attention_power = attention_power
        self.category_count = category_count
        self.item_embedding = embedding_table(item_count, d)                           # E: [N, d]
        if category_count > 0:
            self.category_embedding = embedding_table(category_count, d, bag=True)      # C: [C, d]
            offsets = torch.as_tensor(np.asarray(category_offsets), dtype=torch.int64)  # [N + 1]
            indices = torch.as_tensor(np.asarray(category_indices), dtype=torch.int64)  # [nnz]
            if offsets.shape != (item_count + 1,) or int(offsets[-1]) != indices.numel():
                raise ValueError(f"item categories: offsets {list(offsets.shape)} and {indices.numel()} indices "
                                 f"do not describe {item_count} items")
            if indices.numel() and (int(indices.min()) < 0 or int(indices.max()) >= category_count):
                raise ValueError(f"item categories: an index outside [0, {category_count})")
            self.register_buffer("category_offsets", offsets, persistent=False)
            self.register_buffer("category_indices", indices, persistent=False)
        self.profile = nn.ModuleDict()
        for name, cardinality in zip(profile_fields, profile_cardinalities):
            if "." in name or not name:
                raise ValueError(f"profile field '{name}': a PyTorch module name cannot be empty or hold '.'")
            self.profile[name] = embedding_table(cardinality, profile_width)
        if model == "mind":
            self.routing = CapsuleRouting(d, K, L, R, routing_softmax == "interests", dynamic_k, routing_gradient,
                                          squash_power)
        widths = [d + profile_width * len(self.profile)] + list(hidden if hidden is not None else [2 * d]) + [d]
        self.mlp = nn.ModuleList([nn.Linear(widths[i], widths[i + 1]) for i in range(len(widths) - 1)])
        for layer in self.mlp:
            glorot_(layer.weight)
            nn.init.zeros_(layer.bias)
        self.log_range = math.log(item_count + 1.0)

    def pooled_items(self, ids):  # ids [n], all real -> [n, d]
        """e_i = (E[i] + sum of C[c] over cats(i)) / (1 + |cats(i)|), the categories as one bag per item."""
        rows = self.item_embedding(ids)
        if self.category_count == 0:
            return rows
        starts = self.category_offsets[ids]
        counts = self.category_offsets[ids + 1] - starts                               # |cats(i)|
        bag_offsets = torch.cumsum(counts, 0) - counts
        positions = (torch.arange(int(counts.sum()), device=ids.device)
                     - torch.repeat_interleave(bag_offsets, counts) + torch.repeat_interleave(starts, counts))
        category_sums = self.category_embedding(self.category_indices[positions], bag_offsets)  # [n, d]
        return (rows + category_sums) / (1.0 + counts.unsqueeze(1).float())

    def embed_items(self, ids):
        """ids [...] (-1 padding) -> [..., d], padding rows zero. Only the real ids are looked up,
        so the sparse gradients touch exactly the rows ours do."""
        flat = ids.reshape(-1)
        if flat.numel() and int(flat.max()) >= self.item_count:
            raise IndexError(f"item id {int(flat.max())} outside a table of {self.item_count} rows")
        real = (flat >= 0).nonzero().squeeze(1)
        out = torch.zeros(flat.shape[0], self.d, dtype=self.item_embedding.weight.dtype)
        out = out.index_copy(0, real, self.pooled_items(flat[real]))
        return out.reshape(*ids.shape, self.d)

    def embed_profile(self, profile):  # [B, F] value indices -> [B, F * w] or None
        if len(self.profile) == 0:
            return None
        return torch.cat([table(profile[:, f]) for f, table in enumerate(self.profile.values())], dim=1)

    def run_mlp(self, x):
        for i, layer in enumerate(self.mlp):
            x = layer(x)
            if i + 1 < len(self.mlp):
                x = F.relu(x)  # the output layer stays linear
        return x

    def user_interests(self, history, lengths, profile=None):
        """history [B, L] (-1 padded, left-aligned), lengths [B] -> interests [B, K, d], live [B, K]."""
        B = history.shape[0]
        e = self.embed_items(history)                                                  # [B, L, d]
        p = self.embed_profile(profile)                                                # [B, P] or None
        if self.model == "youtube_dnn":
            pooled = e.sum(dim=1) / lengths.unsqueeze(1).float()                       # [B, d]
            x = pooled if p is None else torch.cat([pooled, p], dim=1)
            return self.run_mlp(x).unsqueeze(1), torch.ones(B, 1, dtype=torch.bool)
        c, live = self.routing(e, lengths)                                             # [B, K, d]
        x = c if p is None else torch.cat([c, p.unsqueeze(1).expand(B, self.K, p.shape[1])], dim=2)
        return self.run_mlp(x), live                                                   # v: [B, K, d]

    def log_q(self, ids):
        """log Q(x) of the log-uniform sampler over popularity ranks (= item indices)."""
        ids = ids.double()
        return torch.log(torch.log((ids + 2.0) / (ids + 1.0)) / self.log_range).float()

    def sample_negatives(self, count, generator=None):
        """M log-uniform ranks (nn/sampled_softmax.cpp): floor(exp(u log(N + 1))) - 1, clamped."""
        u = torch.rand(count, generator=generator, dtype=torch.float64)
        return (torch.exp(u * self.log_range).floor().long() - 1).clamp(0, self.item_count - 1)

    def forward(self, history, lengths, profile, targets, negatives):
        """Mean sampled-softmax loss with the log-Q correction, accidental hits removed."""
        v, live = self.user_interests(history, lengths, profile)
        e_t = self.embed_items(targets)                                                # [B, d]
        if self.model == "mind":
            scores = torch.bmm(v, e_t.unsqueeze(2)).squeeze(2)                         # [B, K]
            if self.attention_power == "hard":
                best = scores.masked_fill(~live, -math.inf).argmax(dim=1)
                user = v[torch.arange(v.shape[0]), best]                               # [B, d]
            else:
                power = float(self.attention_power)
                weights = torch.softmax((scores.sign() * scores.abs().pow(power)).masked_fill(~live, MASKED_LOGIT), 1)
                user = torch.bmm(weights.unsqueeze(1), v).squeeze(1)
        else:
            user = v[:, 0]
        e_n = self.embed_items(negatives)                                              # [M, d]
        log_m = math.log(negatives.shape[0])
        target_logit = (user * e_t).sum(dim=1, keepdim=True) - (log_m + self.log_q(targets)).unsqueeze(1)
        negative_logits = user @ e_n.t() - (log_m + self.log_q(negatives)).unsqueeze(0)
        negative_logits = negative_logits.masked_fill(negatives.unsqueeze(0) == targets.unsqueeze(1), -math.inf)
        logits = torch.cat([target_logit, negative_logits], dim=1)                    # [B, 1 + M]
        return F.cross_entropy(logits, torch.zeros(logits.shape[0], dtype=torch.long))

    def sparse_and_dense_parameters(self):
        """(embedding tables for SparseAdam, the rest for Adam), as our lazy Adam splits them."""
        sparse, dense = [], []
        for name, parameter in self.named_parameters():
            (sparse if name.startswith(("item_embedding.", "category_embedding.", "profile.")) else dense).append(parameter)
        return sparse, dense


def from_checkpoint(tensors, metadata, category_offsets=None, category_indices=None, profile_fields=()):
    """A Recommender built from a checkpoint's metadata and tensor shapes, with its weights loaded.

    Categories (CSR) are needed when the checkpoint has category_embedding.weight; profile_fields
    (names in field order) when it has profile tables.
    """
    model = metadata.get("model", "?")
    if metadata.get("format") != "mind.cpp checkpoint v1":
        raise ValueError(f"checkpoint format '{metadata.get('format')}' is not 'mind.cpp checkpoint v1'")
    item_rows, d = tensors["item_embedding.weight"].shape
    category_count = tensors["category_embedding.weight"].shape[0] if "category_embedding.weight" in tensors else 0
    if category_count and category_offsets is None:
        raise ValueError("the checkpoint pools categories: pass the items' categories (CSR offsets and indices)")
    stored_fields = sorted(name[len("profile."):-len(".weight")] for name in tensors if name.startswith("profile."))
    if sorted(profile_fields) != stored_fields:
        raise ValueError(f"profile fields {list(profile_fields)} do not match the checkpoint's {stored_fields}")
    cardinalities = [tensors[f"profile.{name}.weight"].shape[0] for name in profile_fields]
    hidden = [int(width) for width in metadata["hidden"].split(",") if width]
    recommender = Recommender(
        model, item_rows, d, int(metadata["K"]), int(metadata["L"]), int(metadata["R"]), hidden,
        category_count, category_offsets, category_indices, list(profile_fields), cardinalities,
        int(metadata["profile_width"]), metadata["routing_softmax"], metadata["dynamic_k"] == "true",
        metadata["routing_gradient"] == "true", float(metadata["squash_power"]), metadata["attention_power"])
    recommender.load_state_dict({name: torch.from_numpy(array) for name, array in tensors.items()})
    return recommender


def read_profile_fields(run):
    """Field names in field order from profile_fields.tsv (absent: no profile fields)."""
    path = os.path.join(run, "profile_fields.tsv")
    if not os.path.exists(path):
        return []
    names = {}
    with open(path) as file:
        for line_number, line in enumerate(file, 1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 4:
                raise ValueError(f"{path}:{line_number}: expected field_index, field_name, value_index, value")
            if not parts[0].isdigit():
                continue  # a header row
            names[int(parts[0])] = parts[1]
    return [names[index] for index in sorted(names)]


def load_run(run, checkpoint="checkpoint.safetensors"):
    """The model of a run folder: its checkpoint, its items' categories and its profile fields."""
    tensors, metadata = load_safetensors(os.path.join(run, checkpoint))
    settings_path = os.path.join(run, "run.json")
    if os.path.exists(settings_path):
        with open(settings_path) as file:
            if json.load(file).get("model", {}).get("fresh_routing_logits", False):
                raise ValueError(f"{settings_path}: a --fresh-routing-logits run draws new routing logits per "
                                 f"call; mind_torch uses the checkpoint's fixed routing.logits")
    offsets = indices = None
    if "category_embedding.weight" in tensors:
        for name in ("item_category_offsets.npy", "item_category_indices.npy"):
            if not os.path.exists(os.path.join(run, name)):
                raise ValueError(f"{run}: the checkpoint pools categories but {name} is missing")
        offsets = np.load(os.path.join(run, "item_category_offsets.npy"))
        indices = np.load(os.path.join(run, "item_category_indices.npy"))
    return from_checkpoint(tensors, metadata, offsets, indices, read_profile_fields(run))
