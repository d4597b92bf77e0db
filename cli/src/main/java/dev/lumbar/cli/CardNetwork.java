package dev.lumbar.cli;

import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.io.SafetensorsException;
import dev.lumbar.engine.model.ModelCard;
import dev.lumbar.engine.model.WeightSet;
import dev.lumbar.engine.model.backbone.Backbone;
import dev.lumbar.engine.model.backbone.Backbones;
import dev.lumbar.engine.model.head.Head;
import dev.lumbar.engine.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The network a model card describes, built the one way both {@code check} and
 * {@code forward} use: the backbone from {@link Backbones#create}, the head (unless its type
 * is {@code none}) from {@link Head#create}, and the tensors both expect, the backbone's under
 * the card's prefix. {@code check} stops after {@link #openWeights}; {@code forward} goes on to
 * {@link #load}, so a card that passes {@code check} loads in {@code forward}.
 */
final class CardNetwork implements AutoCloseable {

    /** The head type of a card whose backbone is the whole network. */
    static final String NO_HEAD = "none";

    /** Why a card cannot be built: a card error, or a feature this engine lacks. */
    static final class Unusable extends Exception {
        private final boolean unsupported;

        Unusable(String message, boolean unsupported) {
            super(message);
            this.unsupported = unsupported;
        }

        /** True when the card names an architecture or head type this engine does not have. */
        boolean unsupported() {
            return unsupported;
        }
    }

    /** The head types {@link Head#create} builds, in its documentation's order. */
    private static final List<String> KNOWN_HEADS =
            List.of("mil_bilstm", "concat_pool", "slice_scorer", "keypoint");

    private final ModelCard card;
    private final Backbone backbone;
    private final Head head;
    private final Map<String, long[]> expected;

    private CardNetwork(ModelCard card, Backbone backbone, Head head,
            Map<String, long[]> expected) {
        this.card = card;
        this.backbone = backbone;
        this.head = head;
        this.expected = expected;
    }

    /** Builds the card's backbone and head, without weights. */
    static CardNetwork build(ModelCard card) throws Unusable {
        ModelCard.Backbone spec = card.backbone();
        boolean withHead = !card.headType().equals(NO_HEAD);
        if (withHead && !KNOWN_HEADS.contains(card.headType())) {
            throw new Unusable(card.file() + ": head: unknown head type '" + card.headType()
                    + "'; known: none, " + String.join(", ", KNOWN_HEADS), true);
        }
        if (withHead && spec.numClasses() != 0) {
            throw new Unusable(card.file() + ": backbone.num_classes is " + spec.numClasses()
                    + " but the card has a '" + card.headType() + "' head, which reads the"
                    + " backbone's features; set backbone.num_classes to 0", false);
        }
        Backbone backbone;
        try {
            backbone = Backbones.create(spec.arch(), spec.inChans(), spec.numClasses(),
                    spec.config());
        } catch (IllegalArgumentException e) {
            // an architecture this engine lacks, or a bad override in a card naming a known one
            throw new Unusable(card.file() + ": backbone: " + e.getMessage(),
                    !Backbones.supportedArchs().contains(spec.arch()));
        }
        Head head = null;
        if (withHead) {
            try {
                head = Head.create(card.head(), backbone.numFeatures());
            } catch (IllegalArgumentException e) {
                backbone.close();
                throw new Unusable(card.file() + ": head: " + e.getMessage(), false);
            }
        }
        Map<String, long[]> expected = new LinkedHashMap<>();
        backbone.expectedTensors().forEach((name, shape) -> expected.put(spec.prefix() + name,
                shape));
        if (head != null) {
            for (Map.Entry<String, long[]> entry : head.expectedTensors().entrySet()) {
                if (expected.put(entry.getKey(), entry.getValue()) != null) {
                    backbone.close();
                    head.close();
                    throw new Unusable(card.file() + ": the head's tensor '" + entry.getKey()
                            + "' has the same name as one of the backbone's; give the backbone"
                            + " a prefix", false);
                }
            }
        }
        return new CardNetwork(card, backbone, head, Collections.unmodifiableMap(expected));
    }

    ModelCard card() {
        return card;
    }

    Backbone backbone() {
        return backbone;
    }

    /** The head, empty for a card of head type {@code none}. */
    Optional<Head> head() {
        return Optional.ofNullable(head);
    }

    /** Every tensor name (with the backbone's prefix) and shape the network reads. */
    Map<String, long[]> expectedTensors() {
        return expected;
    }

    /**
     * Opens the card's weights and checks them against {@link #expectedTensors()}: every name
     * present with its shape and a floating-point dtype, nothing unexpected that the card's
     * {@code ignore} does not cover.
     */
    WeightSet openWeights() throws IOException {
        return WeightSet.open(card, expected);
    }

    /** Uploads the checked weights to {@code backend}, which every forward must then use. */
    void load(WeightSet weights, Backend backend) throws SafetensorsException {
        String prefix = card.backbone().prefix();
        try {
            backbone.load(name -> view(weights, prefix + name), backend);
        } catch (UncheckedIOException e) {
            if (e.getCause() instanceof SafetensorsException cause) {
                throw cause;
            }
            throw e;
        }
        if (head != null) {
            head.load(weights, backend);
        }
    }

    private static Tensor view(WeightSet weights, String name) {
        if (!weights.contains(name)) {
            return null;
        }
        try {
            return weights.view(name);
        } catch (SafetensorsException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        backbone.close();
        if (head != null) {
            head.close();
        }
    }
}
