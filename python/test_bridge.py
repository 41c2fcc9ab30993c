"""Tests of the PyTorch bridge that need no trained run: /usr/bin/python3 -m unittest python/test_bridge.py

The parity with our C++ numbers is check_parity.py's job on a real run (python/README.md).
"""
import json
import os
import struct
import sys
import tempfile
import unittest

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mind_torch  # noqa: E402
from safetensors_numpy import load_safetensors  # noqa: E402


def write_safetensors(path, tensors, metadata, header_patch=None):
    header, offset, blobs = {"__metadata__": metadata}, 0, []
    for name, array in tensors.items():
        blob = np.ascontiguousarray(array).astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    if header_patch:
        header_patch(header)
    text = json.dumps(header).encode()
    with open(path, "wb") as file:
        file.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def write_bytes(path, content):
    with open(path, "wb") as file:
        file.write(content)


class SafetensorsTest(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.folder.name, "a.safetensors")

    def tearDown(self):
        self.folder.cleanup()

    def test_reads_tensors_and_metadata(self):
        weight = np.arange(6, dtype=np.float32).reshape(2, 3)
        write_safetensors(self.path, {"mlp.0.weight": weight, "b": np.ones(4, np.float32)}, {"model": "mind"})
        tensors, metadata = load_safetensors(self.path)
        np.testing.assert_array_equal(tensors["mlp.0.weight"], weight)
        self.assertEqual(tensors["b"].shape, (4,))
        self.assertEqual(metadata, {"model": "mind"})

    def test_refuses_malformed_files_naming_the_problem(self):
        cases = {
            "runs past the end": lambda: write_bytes(self.path, struct.pack("<Q", 999) + b"{}"),
            "too short": lambda: write_bytes(self.path, b"\x01\x02"),
            "not valid JSON": lambda: write_bytes(self.path, struct.pack("<Q", 2) + b"{x"),
            "bytes for shape": lambda: write_safetensors(
                self.path, {"w": np.ones((2, 2), np.float32)}, {},
                lambda header: header["w"].update(shape=[3, 2])),
            "unsupported dtype": lambda: write_safetensors(
                self.path, {"w": np.ones(2, np.float32)}, {}, lambda header: header["w"].update(dtype="Q9")),
            "outside the": lambda: write_safetensors(
                self.path, {"w": np.ones(2, np.float32)}, {}, lambda header: header["w"].update(data_offsets=[0, 80])),
        }
        for problem, write in cases.items():
            with self.subTest(problem):
                write()
                with self.assertRaisesRegex(ValueError, problem):
                    load_safetensors(self.path)
        with self.assertRaisesRegex(ValueError, "cannot read"):
            load_safetensors(os.path.join(self.folder.name, "absent.safetensors"))


def small_mind(model="mind"):
    torch.manual_seed(0)
    offsets = np.array([0, 2, 2, 3, 5, 6], dtype=np.int64)  # 5 items; item 1 has no category
    indices = np.array([0, 2, 1, 0, 1, 2], dtype=np.int64)
    return mind_torch.Recommender(model, 5, 4, 3, 6, 3, [8], 3, offsets, indices, ["age"], [4], 2)


class MindTorchTest(unittest.TestCase):
    def test_state_dict_has_the_checkpoint_names_and_shapes(self):
        shapes = {name: list(value.shape) for name, value in small_mind().state_dict().items()}
        self.assertEqual(shapes, {
            "item_embedding.weight": [5, 4], "category_embedding.weight": [3, 4], "profile.age.weight": [4, 2],
            "routing.bilinear.weight": [4, 4], "routing.logits": [3, 6], "mlp.0.weight": [8, 6],
            "mlp.0.bias": [8], "mlp.1.weight": [4, 8], "mlp.1.bias": [4]})
        youtube = {name for name in small_mind("youtube_dnn").state_dict()}
        self.assertNotIn("routing.logits", youtube)

    def test_pooled_items_and_zero_padding(self):
        model = small_mind()
        E, C = model.item_embedding.weight, model.category_embedding.weight
        got = model.embed_items(torch.tensor([[3, -1], [1, 0]]))
        torch.testing.assert_close(got[0, 0], (E[3] + C[0] + C[1]) / 3)
        torch.testing.assert_close(got[1, 0], E[1])  # no category: the item's row alone
        torch.testing.assert_close(got[1, 1], (E[0] + C[0] + C[2]) / 3)
        self.assertEqual(float(got[0, 1].abs().sum()), 0.0)

    def test_padding_and_dead_interests_change_nothing(self):
        model = small_mind()
        history = torch.tensor([[0, 2, 4, 1, -1, -1]])
        lengths, profile = torch.tensor([4]), torch.tensor([[1]])
        v, live = model.user_interests(history, lengths, profile)
        self.assertEqual(live.tolist(), [[True, True, False]])  # K' = floor(log2 4) = 2
        with torch.no_grad():
            model.routing.logits[:, 4:] += 5.0  # logits of padding positions
            model.routing.logits[2, :] -= 3.0   # logits of the dead interest
        v2, _ = model.user_interests(history, lengths, profile)
        torch.testing.assert_close(v[0, :2], v2[0, :2])
        changed = model.user_interests(history, lengths, profile)[0]
        with torch.no_grad():
            model.routing.logits[0, 1] += 0.5  # a live logit must matter
        self.assertFalse(torch.allclose(changed[0, :2], model.user_interests(history, lengths, profile)[0][0, :2]))

    def test_training_touches_only_the_rows_looked_up(self):
        model = small_mind()
        history = torch.tensor([[0, 2, -1, -1, -1, -1], [3, 1, 4, -1, -1, -1]])
        loss = model(history, torch.tensor([2, 3]), torch.tensor([[0], [2]]), torch.tensor([1, 2]),
                     torch.tensor([0, 4, 3]))
        self.assertTrue(torch.isfinite(loss))
        loss.backward()
        rows = model.profile["age"].weight.grad.coalesce().indices()[0].tolist()
        self.assertEqual(sorted(set(rows)), [0, 2])
        self.assertIsNone(model.routing.logits.grad)

    def test_negatives_follow_the_log_uniform_law(self):
        model = small_mind()
        draws = model.sample_negatives(200000, torch.Generator().manual_seed(1))
        frequencies = torch.bincount(draws, minlength=5).double() / draws.numel()
        expected = torch.exp(model.log_q(torch.arange(5))).double()
        expected[-1] += 1.0 - expected.sum()  # the clamp puts the tail mass on the last rank
        torch.testing.assert_close(frequencies, expected, atol=5e-3, rtol=0)


if __name__ == "__main__":
    unittest.main()
