package dev.lumbar.engine.model.head;

import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.io.SafetensorsException;
import dev.lumbar.engine.model.WeightSet;
import dev.lumbar.engine.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What every head shares: the tensors it needs, loading them, freeing them. Each kind has its
 * own {@code forward}, since their inputs and outputs differ.
 *
 * <p>Model-card options read by {@link #create} (key: meaning, default):
 * <ul>
 * <li>{@code type}: {@code mil_bilstm}, {@code concat_pool}, {@code slice_scorer} or
 *     {@code keypoint}; required.
 * <li>{@code mil_bilstm}: {@code num_classes} (3), {@code lstm_layers} (1),
 *     {@code lstm_hidden} (features / 2).
 * <li>{@code concat_pool}: {@code num_classes} (3), {@code pool_order} ({@code max_avg}, or
 *     {@code avg_max} for timm's {@code catavgmax}).
 * <li>{@code slice_scorer}: {@code num_targets} (required), {@code rolling_window} (1: none),
 *     {@code fc} (the linear layer's key prefix, {@code fc}; timm classifiers use
 *     {@code head.fc} or {@code classifier}).
 * <li>{@code keypoint}: {@code num_targets} (required), {@code activation}
 *     ({@code sigmoid} or {@code none}), {@code fc} as above.
 * </ul>
 */
public sealed interface Head extends AutoCloseable
        permits MilBiLstmHead, ConcatPoolHead, SliceScorerHead, KeypointHead {

    /** The head types {@link #create} builds. */
    List<String> TYPES = List.of(MilBiLstmHead.TYPE, ConcatPoolHead.TYPE, SliceScorerHead.TYPE,
            KeypointHead.TYPE);

    /** The card's name for this kind of head, e.g. {@code mil_bilstm}. */
    String type();

    /** Every tensor the head needs: state-dict name → shape, in a stable order. */
    Map<String, long[]> expectedTensors();

    /**
     * Checks {@code weights} against {@link #expectedTensors()} and uploads them to
     * {@code backend}, which every later forward must use. Extra keys are ignored.
     *
     * @throws IllegalArgumentException naming the first missing or misshapen tensor
     */
    void load(Map<String, Tensor> weights, Backend backend);

    /**
     * Loads the head's tensors from a checked weight set (zero-copy views of the safetensors
     * file; F16 and BF16 are widened as they are uploaded).
     */
    default void load(WeightSet weights, Backend backend) throws SafetensorsException {
        Map<String, Tensor> views = new LinkedHashMap<>();
        for (String name : expectedTensors().keySet()) {
            views.put(name, weights.view(name));
        }
        load(views, backend);
    }

    /** Frees the uploaded weights. */
    @Override
    void close();

    /**
     * Builds the head a model card describes.
     *
     * @param headConfig  the card's {@code head} object (numbers as {@code Long} or
     *                    {@code Double}, as the JSON parser returns them)
     * @param numFeatures features per instance coming out of the encoder
     */
    static Head create(Map<String, Object> headConfig, int numFeatures) {
        HeadConfig config = new HeadConfig(headConfig);
        String type = config.type();
        Head head = switch (type) {
            case MilBiLstmHead.TYPE -> new MilBiLstmHead(numFeatures,
                    config.integer("lstm_hidden", numFeatures / 2),
                    config.integer("lstm_layers", 1), config.integer("num_classes", 3));
            case ConcatPoolHead.TYPE -> new ConcatPoolHead(numFeatures,
                    config.integer("num_classes", 3),
                    ConcatPoolHead.PoolOrder.fromCard(config.string("pool_order", "max_avg")));
            case SliceScorerHead.TYPE -> new SliceScorerHead(numFeatures,
                    config.requiredInteger("num_targets"), config.integer("rolling_window", 1),
                    config.string("fc", "fc"));
            case KeypointHead.TYPE -> new KeypointHead(numFeatures,
                    config.requiredInteger("num_targets"),
                    KeypointHead.Output.fromCard(config.string("activation", "sigmoid")),
                    config.string("fc", "fc"));
            default -> throw new IllegalArgumentException("unknown head type '" + type
                    + "'; known: " + String.join(", ", TYPES));
        };
        try {
            config.requireNoOthers();
        } catch (IllegalArgumentException e) {
            head.close();
            throw e;
        }
        return head;
    }
}
