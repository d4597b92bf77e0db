package dev.lumbar.engine.model;

import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.io.SafetensorsException;
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
import java.util.TreeSet;

/**
 * The network a model card describes, built the one way every user of a card takes: the
 * backbone from {@link Backbones#create}, the head (unless its type is {@code none}) from
 * {@link Head#create}, and the tensors both expect, the backbone's under the card's prefix.
 * Checking a card stops after {@link #openWeights}; running it goes on to {@link #load}, so a
 * card that passes the check loads for a run.
 */
public final class CardNetwork implements AutoCloseable {

    /** The head type of a card whose backbone is the whole network. */
    public static final String NO_HEAD = "none";

    /** Why a card cannot be built: a card error, or a feature this engine lacks. */
    public static final class Unusable extends Exception {
        private final boolean unsupported;

        Unusable(String message, boolean unsupported) {
            super(message);
            this.unsupported = unsupported;
        }

        /** True when the card names an architecture or head type this engine does not have. */
        public boolean unsupported() {
            return unsupported;
        }
    }

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
    public static CardNetwork build(ModelCard card) throws Unusable {
        ModelCard.Backbone spec = card.backbone();
        boolean withHead = !card.headType().equals(NO_HEAD);
        if (withHead && !Head.TYPES.contains(card.headType())) {
            throw new Unusable(card.file() + ": head: unknown head type '" + card.headType()
                    + "'; known: none, " + String.join(", ", Head.TYPES), true);
        }
        if (!withHead && card.head().size() > 1) {
            // a head of type none reads nothing: any option there is a mistake, perhaps a
            // head whose type was left at none
            throw new Unusable(card.file() + ": head: a head of type 'none' takes no options,"
                    + " got " + new TreeSet<>(card.head().keySet()).stream()
                    .filter(k -> !k.equals("type")).toList(), false);
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

    public ModelCard card() {
        return card;
    }

    public Backbone backbone() {
        return backbone;
    }

    /** The head, empty for a card of head type {@code none}. */
    public Optional<Head> head() {
        return Optional.ofNullable(head);
    }

    /** Every tensor name (with the backbone's prefix) and shape the network reads. */
    public Map<String, long[]> expectedTensors() {
        return expected;
    }

    /**
     * Opens the card's weights and checks them against {@link #expectedTensors()}: every name
     * present with its shape and a floating-point dtype, nothing unexpected that the card's
     * {@code ignore} does not cover.
     */
    public WeightSet openWeights() throws IOException {
        return WeightSet.open(card, expected);
    }

    /** Uploads the checked weights to {@code backend}, which every forward must then use. */
    public void load(WeightSet weights, Backend backend) throws SafetensorsException {
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
