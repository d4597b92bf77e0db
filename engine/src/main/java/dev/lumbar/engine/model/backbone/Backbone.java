package dev.lumbar.engine.model.backbone;

import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.tensor.Tensor;

import java.util.Map;
import java.util.function.Function;

/**
 * An image encoder that reproduces a timm model created with
 * {@code timm.create_model(arch, num_classes=K, in_chans=C)}: the same forward and the same
 * state-dict key names.
 *
 * <p>Life cycle: {@link Backbones#create} builds the architecture (no weights), {@link #load}
 * checks and uploads the weights to one backend, the forwards run on that backend, and
 * {@link #close} frees the uploaded weights. A loaded backbone is read-only and may run
 * forwards from several threads when its backend allows it.
 */
public interface Backbone extends AutoCloseable {

    /** The timm architecture name, e.g. {@code convnext_small} or {@code tf_efficientnetv2_s}. */
    String arch();

    int inChans();

    /** Classifier outputs; 0 when {@link #forward} returns pooled features. */
    int numClasses();

    /** Channels of the final feature map, which is also the pooled feature size. */
    int numFeatures();

    /**
     * State-dict names (without any prefix) and shapes of every tensor the forward needs, in
     * state-dict order. BatchNorm's {@code num_batches_tracked} counters are not needed and not
     * listed; a weight file may hold them.
     */
    Map<String, long[]> expectedTensors();

    /**
     * Checks every expected tensor's shape, folds BatchNorm into the preceding convolution and
     * uploads the result to {@code backend}.
     *
     * @param weights host tensors (F32, F16 or BF16) by state-dict name; returns null for a
     *                missing name
     * @throws IllegalArgumentException naming the tensor when one is missing or has the wrong
     *                                  shape
     */
    void load(Function<String, Tensor> weights, Backend backend);

    /**
     * The final feature map before pooling: {@code [N, C, H, W] → [N, D, h, w]}. For
     * EfficientNet this is after {@code conv_head}, {@code bn2} and the activation.
     */
    Tensor forwardFeatures(Backend backend, Tensor x);

    /**
     * {@code [N, C, H, W] → [N, K]} logits, or {@code [N, D]} pooled (for ConvNeXt also
     * normalised) features when {@link #numClasses()} is 0.
     */
    Tensor forward(Backend backend, Tensor x);

    /** Frees the uploaded weights; the backbone can be loaded again afterwards. */
    @Override
    void close();
}
