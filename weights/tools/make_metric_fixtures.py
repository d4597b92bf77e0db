#!/usr/bin/python3
"""Writes random label/submission pairs and the scores metric_reference.py gives them.

Run from the repository root: /usr/bin/python3 weights/tools/make_metric_fixtures.py
Output: engine/src/test/resources/fixtures/metric/<case>/{labels.csv,submission.csv,
expected.txt}. Cases cover unlabelled cells (including a study without any spinal label),
zero probabilities, rows that do not sum to 1, one-hot rows, and submitted rows of a study
the labels lack.
"""
import csv
import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import metric_reference  # noqa: E402

OUT = os.path.join("engine", "src", "test", "resources", "fixtures", "metric")
CONDITIONS = ["spinal_canal_stenosis", "left_neural_foraminal_narrowing",
              "right_neural_foraminal_narrowing", "left_subarticular_stenosis",
              "right_subarticular_stenosis"]
LEVELS = ["l1_l2", "l2_l3", "l3_l4", "l4_l5", "l5_s1"]
COLUMNS = [f"{c}_{l}" for c in CONDITIONS for l in LEVELS]


def write_case(name, rng, studies, missing, style):
    d = os.path.join(OUT, name)
    os.makedirs(d)
    study_ids = [str(v) for v in rng.choice(10**9, size=studies, replace=False)]
    labels = {}
    with open(os.path.join(d, "labels.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["study_id"] + COLUMNS)
        for i, study in enumerate(study_ids):
            classes = rng.choice(3, size=len(COLUMNS), p=[0.6, 0.25, 0.15])
            cells = [metric_reference.SEVERITIES[k] for k in classes]
            for j in range(len(COLUMNS)):
                if rng.random() < missing:
                    cells[j] = ""
            if i == 1 and missing > 0:
                cells[:5] = [""] * 5          # a study without any spinal label
            labels[study] = classes
            w.writerow([study] + cells)

    rows = []
    extra = str(10**9 + 7)                     # a study the labels do not have
    for study in study_ids + [extra]:
        for k, column in enumerate(COLUMNS):
            if style == "random":
                p = rng.dirichlet([0.7, 0.7, 0.7])
                kind = rng.random()
                if kind < 0.15:
                    p[rng.integers(3)] = 0.0   # a zero probability
                elif kind < 0.35:
                    p = p * rng.uniform(0.3, 2.5)  # not summing to 1 (severe may exceed 1)
                elif kind < 0.4:
                    p = np.eye(3)[rng.integers(3)]
            elif style == "confident":
                truth = labels.get(study, np.zeros(25, dtype=int))[k]
                p = np.eye(3)[truth if rng.random() < 0.8 else (truth + 1) % 3]
            else:
                p = np.full(3, 1 / 3)
            rows.append([f"{study}_{column}"] + [repr(float(v)) for v in p])
    rng.shuffle(rows)
    with open(os.path.join(d, "submission.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["row_id", "normal_mild", "moderate", "severe"])
        w.writerows(rows)

    result = metric_reference.score(os.path.join(d, "submission.csv"),
                                     os.path.join(d, "labels.csv"))
    with open(os.path.join(d, "expected.txt"), "w") as f:
        for key, value in result.items():
            f.write(f"{key} {value!r}\n")


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    rng = np.random.default_rng(2024)
    write_case("random_a", rng, 12, 0.1, "random")
    write_case("random_b", rng, 40, 0.05, "random")
    write_case("confident", rng, 10, 0.1, "confident")
    write_case("uniform", rng, 5, 0.0, "uniform")


if __name__ == "__main__":
    main()
