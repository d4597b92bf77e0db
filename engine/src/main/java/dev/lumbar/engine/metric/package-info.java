/**
 * The competition's metric: reading Kaggle's wide {@code train.csv} labels and a submission
 * CSV, and scoring one against the other as the host did.
 *
 * <p>For each condition group (spinal canal; neural foramina; subarticular zones) the loss is
 * a sample-weighted log loss over normal/mild, moderate and severe, with weights 1, 2 and 4 by
 * the true label. Predictions are clipped to {@code [1e-15, 1 − 1e-15]} and each row is then
 * renormalised to sum to 1, as scikit-learn's {@code log_loss} does. A fourth loss,
 * {@code any_severe_spinal}, is a binary log loss per study: the label says whether any spinal
 * level is severe, the weight is the largest of the study's spinal weights, and the prediction
 * is the largest submitted spinal {@code severe} value as submitted (not renormalised), clipped
 * to {@code [1e-15, 1 − 1e-15]}. The score is the mean of the four losses.
 *
 * <p>This is scikit-learn's {@code log_loss} as it was up to version 1.2 (clip at 1e-15, then
 * renormalise), as the design prescribes. From 1.5 on, scikit-learn clips at the float64
 * machine epsilon and no longer renormalises rows, so it gives other numbers for rows that do
 * not sum to 1 ({@code weights/tools/check_metric_against_sklearn.py} shows by how much).
 *
 * <p>Targets without a label are left out of everything, including the study's
 * {@code any_severe_spinal} label, weight and prediction; a study without any labelled spinal
 * level has no {@code any_severe_spinal} term. All arithmetic is in double.
 */
package dev.lumbar.engine.metric;
