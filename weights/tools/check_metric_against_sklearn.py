#!/usr/bin/env python3
"""Cross-checks metric_reference.py against scikit-learn's own log_loss on the metric fixtures.

Needs numpy and scikit-learn >= 1.5 (not needed by anything else; use a virtual environment):
    python check_metric_against_sklearn.py   # from the repository root

The engine's metric follows scikit-learn's log_loss as it was up to 1.2: clip to
[1e-15, 1 - 1e-15], then renormalise each row. Since 1.5, log_loss clips at the float64
machine epsilon and no longer renormalises (it only warns), so the two agree only where rows
already sum to 1 (up to the renormalisation of clipped zeros, ~1e-16). This script therefore
sets the reference's epsilon to the machine epsilon and expects agreement to 1e-12 on the
fixtures whose rows sum to 1 (`confident`, `uniform`); on the others it prints the difference
the renormalisation makes.
"""
import os
import sys
import warnings

import numpy as np
import sklearn
import sklearn.metrics

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import metric_reference as reference  # noqa: E402

FIXTURES = os.path.join("engine", "src", "test", "resources", "fixtures", "metric")


def with_sklearn(submission_path, labels_path):
    labelled = reference.read_labels(labels_path)
    submitted = reference.read_submission(submission_path)
    losses = {}
    for group in reference.GROUPS:
        rows = [r for r in labelled if group in r[2]]
        classes = [r[3] for r in rows]
        losses[group] = sklearn.metrics.log_loss(
            np.eye(3)[classes], np.stack([submitted[r[0]] for r in rows]),
            sample_weight=reference.WEIGHTS[classes])
    spinal = [r for r in labelled if r[2].startswith("spinal_canal_stenosis")]
    truth, prediction, weight = [], [], []
    for study in sorted({r[1] for r in spinal}):
        mine = [r for r in spinal if r[1] == study]
        truth.append(int(any(r[3] == 2 for r in mine)))
        prediction.append(max(submitted[r[0]][2] for r in mine))
        weight.append(max(reference.WEIGHTS[r[3]] for r in mine))
    losses["any_severe_spinal"] = sklearn.metrics.log_loss(
        truth, prediction, sample_weight=weight, labels=[0, 1])
    return losses


def main():
    reference.EPS = np.finfo(np.float64).eps
    warnings.simplefilter("ignore")
    print("scikit-learn", sklearn.__version__)
    failed = False
    for case in sorted(os.listdir(FIXTURES)):
        submission = os.path.join(FIXTURES, case, "submission.csv")
        labels = os.path.join(FIXTURES, case, "labels.csv")
        ours = reference.score(submission, labels)
        theirs = with_sklearn(submission, labels)
        worst = max(abs(theirs[k] - ours[k]) / abs(ours[k]) for k in theirs)
        strict = case in ("confident", "uniform")
        print(f"{case}: largest relative difference {worst:.3g}"
              + ("" if strict else " (rows not summing to 1: expected to differ)"))
        failed |= strict and worst > 1e-12
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
