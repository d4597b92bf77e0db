/**
 * The vocabulary of the task: spinal {@link dev.lumbar.engine.spine.Level levels},
 * degenerative {@link dev.lumbar.engine.spine.Condition conditions}, the
 * {@link dev.lumbar.engine.spine.Target targets} they make together, the
 * {@link dev.lumbar.engine.spine.Severity severities} a target is graded into, and the
 * {@link dev.lumbar.engine.spine.SeriesType series types} a study brings.
 *
 * <p>Every constant carries the two spellings the competition files use: the Kaggle name in
 * lower snake case ({@code left_neural_foraminal_narrowing}, {@code l4_l5},
 * {@code normal_mild}) that submission row ids and {@code train.csv} columns are made of, and
 * the label that {@code train.csv} cells and {@code train_label_coordinates.csv} rows hold
 * ({@code Left Neural Foraminal Narrowing}, {@code L4/L5}, {@code Normal/Mild}).
 *
 * <p>Declaration order is anatomical (levels top to bottom; the spinal canal, then foramina,
 * then subarticular zones, left before right) and is the order of {@code train.csv}'s columns;
 * ordinals are stable and used as tensor indices. Sample-submission order differs and is
 * {@link dev.lumbar.engine.spine.Target#submissionOrder()}. Everything here is immutable.
 */
package dev.lumbar.engine.spine;
