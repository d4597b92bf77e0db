#!/usr/bin/python3
"""An independent implementation of the competition metric, used to check the Java one.

Usage: metric_reference.py SUBMISSION.csv LABELS.csv
Prints one `name value` line per loss and the score, values with full double precision.

Written from the metric's description alone, with numpy: per condition group a log loss with
sample weights 1/2/4 by the true severity (predictions clipped to [1e-15, 1-1e-15], rows then
renormalised); any_severe_spinal: per study a binary log loss on the largest raw spinal
severe prediction (clipped once, not renormalised), weighted by the largest spinal weight;
score = mean of the four. Unlabelled cells are left out.
"""
import csv
import sys

import numpy as np

EPS = 1e-15
SEVERITIES = ["Normal/Mild", "Moderate", "Severe"]
WEIGHTS = np.array([1.0, 2.0, 4.0])
GROUPS = ["spinal_canal_stenosis", "neural_foraminal_narrowing", "subarticular_stenosis"]


def read_labels(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    labelled = []  # (row_id, study, column, class index)
    for row in rows:
        study = row["study_id"]
        for column, cell in row.items():
            if column == "study_id" or cell == "":
                continue
            labelled.append((f"{study}_{column}", study, column, SEVERITIES.index(cell)))
    return labelled


def read_submission(path):
    with open(path, newline="") as f:
        return {row["row_id"]: np.array([float(row["normal_mild"]), float(row["moderate"]),
                                         float(row["severe"])])
                for row in csv.DictReader(f)}


def weighted_log_loss(truth, predictions, weights):
    """truth: class index per row; predictions: [N, C] raw; weights: [N]."""
    p = np.clip(predictions, EPS, 1 - EPS)
    p = p / p.sum(axis=1, keepdims=True)
    losses = -np.log(p[np.arange(len(truth)), truth])
    return float(np.sum(weights * losses) / np.sum(weights))


def binary_log_loss(truth, predictions, weights):
    """truth: 0/1 per row; predictions: P(1) per row, raw. Clipped once, as scikit-learn
    does with one-column predictions: 1 - p is not clipped again, so for p clipped to 1 - EPS
    it is the double 1 - (1 - 1e-15), a little below EPS."""
    p = np.clip(predictions, EPS, 1 - EPS)
    losses = -np.where(truth == 1, np.log(p), np.log(1 - p))
    return float(np.sum(weights * losses) / np.sum(weights))


def score(submission_path, labels_path):
    labelled = read_labels(labels_path)
    submitted = read_submission(submission_path)
    results = {}
    for group in GROUPS:
        rows = [r for r in labelled if group in r[2]]
        truth = np.array([r[3] for r in rows])
        predictions = np.stack([submitted[r[0]] for r in rows])
        results[group] = weighted_log_loss(truth, predictions, WEIGHTS[truth])

    spinal = [r for r in labelled if r[2].startswith("spinal_canal_stenosis")]
    studies = sorted({r[1] for r in spinal})
    any_truth, any_pred, any_weight = [], [], []
    for study in studies:
        mine = [r for r in spinal if r[1] == study]
        classes = np.array([r[3] for r in mine])
        any_truth.append(1 if np.any(classes == 2) else 0)
        any_weight.append(WEIGHTS[classes].max())
        any_pred.append(max(submitted[r[0]][2] for r in mine))
    results["any_severe_spinal"] = binary_log_loss(np.array(any_truth), np.array(any_pred),
                                                   np.array(any_weight))
    results["score"] = float(np.mean([results[k] for k in GROUPS + ["any_severe_spinal"]]))
    return results


if __name__ == "__main__":
    for name, value in score(sys.argv[1], sys.argv[2]).items():
        print(f"{name} {value!r}")
