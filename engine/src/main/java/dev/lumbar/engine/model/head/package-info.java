/**
 * The networks that sit on top of an encoder: the stage-2 classifiers ({@code mil_bilstm},
 * {@code concat_pool}) and the stage-1 localisers ({@code slice_scorer}, {@code keypoint}),
 * plus the PyTorch-compatible {@link dev.lumbar.engine.model.head.Lstm} the first one uses.
 *
 * <p>Weights: a head is built from the {@code head} object of a model card by
 * {@link dev.lumbar.engine.model.head.Head#create}, lists the tensors it needs with
 * {@code expectedTensors()} (state-dict names → shapes, so a card can be checked before
 * anything is uploaded) and takes them with {@code load(weights, backend)}, where
 * {@code weights} maps those same names to host tensors (F32, F16 or BF16), or is a checked
 * {@code WeightSet}. The names are
 * PyTorch's, relative to the head: {@code lstm.weight_ih_l0}, {@code attention.1.weight},
 * {@code fc.weight}; a card whose state dict nests them deeper strips its prefix first. Loaded
 * weights live on the backend's device and are freed by {@code close()}.
 *
 * <p>Where the work runs: every matrix product runs on the backend (the LSTM's input
 * projections and its per-step recurrent products, attention, the final linear layers), as do
 * the spatial poolings. The LSTM's gate update between steps, the reductions over the few
 * instances of a bag and the decisions of the stage-1 heads run on the host in F32: they touch
 * a few kilobytes, and the backend interface has no slicing, concatenation or elementwise
 * product to express them on the device.
 *
 * <p>Results come back as plain Java arrays, since they are small and go straight into
 * reports. A head is not thread-safe: one forward at a time.
 */
package dev.lumbar.engine.model.head;
