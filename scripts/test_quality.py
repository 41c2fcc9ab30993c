#!/usr/bin/python3
"""Tests of scripts/quality.py's statistics and bookkeeping on hand-made runs (no mind_train needed).

    python3 scripts/test_quality.py      (ctest runs it as "scripts: quality.py")
"""
import contextlib
import io
import json
import math
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import quality  # noqa: E402

BINARY = "/nonexistent/mind_train"  # never run: every run below is already finished
DATA = "hand-made"


def write_run(out, name, fold, seed, flags, rows, best_valid=0.3, seconds=12.0):
    """A finished run: done.json with the command quality.py would use, metrics.jsonl, the TSV."""
    folder = quality.run_folder(out, name, fold, seed)
    os.makedirs(folder)
    command = [BINARY, "--data", DATA, "--fold", str(fold), "--seed", str(seed), "--threads", "1",
               "--quiet", "--out", folder] + flags
    with open(os.path.join(folder, quality.DONE), "w") as file:
        json.dump({"command": command, "recipe_sha256": None, "seconds": seconds, "cpu_seconds": seconds / 2}, file)
    with open(os.path.join(folder, "metrics.jsonl"), "w") as file:
        for epoch, recall in [(1, best_valid - 0.1), (2, best_valid), (3, best_valid - 0.05)]:
            file.write(json.dumps({"epoch": epoch, "split": "valid", "recall@50": recall}) + "\n")
        file.write(json.dumps({"epoch": 3, "split": "test", "recall@50": 0.0}) + "\n")
    with open(os.path.join(folder, quality.USER_TABLE), "w") as file:
        file.write("user\t" + "\t".join(quality.METRICS) + "\n")
        for user, recall in rows:
            # recall@50 is `recall`; the other five columns are fixed multiples of it.
            values = [recall / 2, recall, 1.0 if recall > 0 else 0.0, 1.0, recall / 3, recall / 4]
            file.write(user + "\t" + "\t".join(repr(value) for value in values) + "\n")


def run_quietly(arguments):
    """quality.main without its progress lines and table on the test's output."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return quality.main(arguments)


class Statistics(unittest.TestCase):
    def test_t_quantiles_match_the_table(self):
        table = {1: 12.706, 2: 4.303, 5: 2.571, 10: 2.228, 30: 2.042, 100: 1.984}
        for degrees, expected in table.items():
            self.assertAlmostEqual(quality.t_quantile(0.975, degrees), expected, delta=1e-3, msg=degrees)
        self.assertAlmostEqual(quality.normal_quantile(0.975), 1.959964, places=6)
        self.assertAlmostEqual(quality.t_quantile(0.025, 10), -2.228, delta=1e-3)

    def test_mean_interval_is_the_t_interval(self):
        mean, low, high = quality.mean_interval([1.0, 2.0, 3.0, 4.0, 5.0])
        self.assertEqual(mean, 3.0)
        half = 2.776 * math.sqrt(2.5 / 5)  # t(0.975, 4) * s / sqrt(n)
        self.assertAlmostEqual(low, 3.0 - half, delta=3e-3)
        self.assertAlmostEqual(high, 3.0 + half, delta=3e-3)
        self.assertEqual(quality.mean_interval([2.0, 2.0, 2.0])[1:], (2.0, 2.0))

    def test_bootstrap_is_seeded_and_has_the_right_width(self):
        self.assertEqual(quality.bootstrap_interval([0.25] * 50, 200, 1), (0.25, 0.25))
        generator = __import__("random").Random(7)
        differences = [generator.gauss(0.1, 1.0) for _ in range(400)]
        first = quality.bootstrap_interval(differences, 2000, 1)
        self.assertEqual(first, quality.bootstrap_interval(differences, 2000, 1))
        self.assertNotEqual(first, quality.bootstrap_interval(differences, 2000, 2))
        mean, t_low, t_high = quality.mean_interval(differences)
        self.assertLess(first[0], mean)
        self.assertGreater(first[1], mean)
        # For 400 roughly normal differences the bootstrap and t intervals nearly agree.
        self.assertAlmostEqual((first[1] - first[0]) / (t_high - t_low), 1.0, delta=0.1)


class Comparison(unittest.TestCase):
    def setUp(self):
        self.out = tempfile.mkdtemp(prefix="quality_test_")

    def tearDown(self):
        shutil.rmtree(self.out)

    def arguments(self, *extra):
        return ["--binary", BINARY, "--data", DATA, "--out", self.out, "--folds", "0,1", "--seeds", "1",
                "--bootstrap", "500"] + list(extra)

    def test_pooled_means_and_paired_differences_match_by_fold_and_user(self):
        # User "x" is in both folds (two different users of two logs, say): it must be paired by fold.
        write_run(self.out, "A", 0, 1, ["--model", "a"], [("x", 0.5), ("b", 0.6)], best_valid=0.30)
        write_run(self.out, "A", 1, 1, ["--model", "a"], [("x", 0.7), ("d", 0.8), ("e", 1.0)], best_valid=0.40)
        write_run(self.out, "B", 0, 1, ["--model", "b"], [("x", 0.4), ("b", 0.4)], best_valid=0.20)
        write_run(self.out, "B", 1, 1, ["--model", "b"], [("x", 0.4), ("d", 0.4)], best_valid=0.20)
        result = run_quietly(self.arguments("--config", "A=--model a", "--config", "B=--model b"))
        a, b = result["configurations"]
        self.assertEqual(a["users"], 5)
        self.assertAlmostEqual(a["metrics"]["recall@50"]["mean"], (0.5 + 0.6 + 0.7 + 0.8 + 1.0) / 5)
        self.assertAlmostEqual(a["metrics"]["recall@20"]["mean"], (0.5 + 0.6 + 0.7 + 0.8 + 1.0) / 10)
        self.assertAlmostEqual(a["mean_best_valid_recall@50"], 0.35)
        self.assertEqual(a["mean_best_epoch"], 2.0)
        self.assertEqual(a["mean_epochs"], 3.0)
        self.assertEqual(a["mean_cpu_seconds"], 6.0)
        self.assertAlmostEqual(b["metrics"]["recall@50"]["mean"], 0.4)
        (comparison,) = result["comparisons"]
        self.assertEqual((comparison["first"], comparison["second"], comparison["users"]), ("A", "B", 4))
        recall = comparison["metrics"]["recall@50"]
        self.assertAlmostEqual(recall["mean_difference"], (0.1 + 0.2 + 0.3 + 0.4) / 4)
        low, high = recall["bootstrap_ci95"]
        self.assertTrue(0.1 <= low < 0.25 < high <= 0.4, (low, high))
        self.assertEqual((recall["first_better"], recall["second_better"]), (4, 0))
        with open(os.path.join(self.out, "quality.json")) as file:
            self.assertEqual(json.load(file)["comparisons"][0]["users"], 4)
        with open(os.path.join(self.out, "quality.md")) as file:
            table = file.read()
        self.assertIn("| A - B | 4 |", table)
        self.assertIn("+0.2500", table)

    def test_seeds_are_averaged_per_user_and_a_baseline_picks_the_pairs(self):
        for seed, recall in [(1, 0.2), (2, 0.4)]:
            write_run(self.out, "A", 0, seed, [], [("u", recall), ("v", 0.0)])
            write_run(self.out, "A", 1, seed, [], [("w", 0.0)])
        for name in ["B", "C"]:
            write_run(self.out, name, 0, 1, [], [("u", 0.1), ("v", 0.0)])
            write_run(self.out, name, 1, 1, [], [("w", 0.0)])
        for name in ["B", "C"]:
            write_run(self.out, name, 0, 2, [], [("u", 0.1), ("v", 0.0)])
            write_run(self.out, name, 1, 2, [], [("w", 0.0)])
        result = run_quietly(self.arguments("--seeds", "1", "2", "--config", "A=", "--config", "B=",
                                             "--config", "C=", "--baseline", "B"))
        self.assertEqual(result["configurations"][0]["users"], 3)
        self.assertAlmostEqual(result["configurations"][0]["metrics"]["recall@50"]["mean"], 0.3 / 3)
        self.assertEqual([(c["first"], c["second"]) for c in result["comparisons"]], [("A", "B"), ("C", "B")])
        self.assertAlmostEqual(result["comparisons"][0]["metrics"]["recall@50"]["mean_difference"], 0.2 / 3)

    def test_a_finished_run_with_other_flags_is_refused(self):
        write_run(self.out, "A", 0, 1, ["--model", "a"], [("u", 0.1)])
        write_run(self.out, "A", 1, 1, ["--model", "a"], [("u", 0.1)])
        with self.assertRaises(SystemExit) as raised:
            run_quietly(self.arguments("--config", "A=--model other"))
        self.assertIn("use another name or --out", str(raised.exception.code))

    def test_a_table_with_a_wrong_header_is_an_error(self):
        path = os.path.join(self.out, "table.tsv")
        with open(path, "w") as file:
            file.write("user\trecall@50\n")
        with self.assertRaises(ValueError):
            quality.read_user_table(path)


if __name__ == "__main__":
    unittest.main()
