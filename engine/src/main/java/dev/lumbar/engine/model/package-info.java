/**
 * Trained networks as files: the model card ({@code lumbar-model/1}) that says what a
 * network is, the {@link dev.lumbar.engine.model.WeightSet} that opens its safetensors
 * weights and proves they fit the network before anything runs, and load-time transforms of
 * those weights such as {@link dev.lumbar.engine.model.BatchNormFolding}; and
 * {@link dev.lumbar.engine.model.CardNetwork}, the one way a card becomes a backbone and head
 * with checked weights.
 *
 * <p>Tensor names are PyTorch state-dict keys, unchanged. The backbone and head builders say
 * which names and shapes they need; this package checks the file against that list and reports
 * every difference in one error. Nothing here knows a particular architecture; the backbone
 * and head packages build them.
 */
package dev.lumbar.engine.model;
