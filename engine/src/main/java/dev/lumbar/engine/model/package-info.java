/**
 * Trained networks as files: the model card ({@code lumbar-model/1}) that says what a
 * network is, the {@link dev.lumbar.engine.model.WeightSet} that opens its safetensors
 * weights and proves they fit the network before anything runs, and load-time transforms of
 * those weights such as {@link dev.lumbar.engine.model.BatchNormFolding}.
 *
 * <p>Tensor names are PyTorch state-dict keys, unchanged. The backbone and head builders say
 * which names and shapes they need; this package checks the file against that list and reports
 * every difference in one error. Nothing here knows a particular architecture.
 */
package dev.lumbar.engine.model;
