package dev.lumbar.engine.pipeline;

import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.backend.cuda.CudaBackend;
import dev.lumbar.engine.batch.DeadlineBackend;
import dev.lumbar.engine.model.CardNetwork;
import dev.lumbar.engine.model.ModelCard;
import dev.lumbar.engine.model.WeightSet;
import dev.lumbar.engine.model.backbone.Backbone;
import dev.lumbar.engine.model.backbone.Backbones;
import dev.lumbar.engine.model.head.ConcatPoolHead;
import dev.lumbar.engine.model.head.Head;
import dev.lumbar.engine.model.head.KeypointHead;
import dev.lumbar.engine.model.head.MilBiLstmHead;
import dev.lumbar.engine.model.head.SliceScorerHead;
import dev.lumbar.engine.report.ModelFingerprint;
import dev.lumbar.engine.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Networks built from model cards on one backend: a timm backbone
 * ({@link Backbones#create}) and a head ({@link Head#create}) whose weights come from the
 * card's safetensors file, checked against the shapes both expect. Each card is loaded once, on
 * first use; the backbone runs with {@code num_classes} 0, so its forward gives the pooled
 * features that the heads read (or, for {@code concat_pool}, its feature maps).
 *
 * <p>Not thread-safe: one study at a time. Closing frees every loaded network but not the
 * backend, which the caller owns.
 */
public final class CardNetworks implements Networks {

    private final Backend backend;
    private final Map<Path, Network> loaded = new LinkedHashMap<>();

    public CardNetworks(Backend backend) {
        this.backend = backend;
    }

    /** A card's network loaded onto the backend, and its head, which every card here has. */
    private record Network(CardNetwork parts, Head head) {
        ModelCard card() {
            return parts.card();
        }

        Backbone backbone() {
            return parts.backbone();
        }
    }

    @Override
    public SliceScorer sliceScorer(Path cardFile) {
        Network net = load(cardFile, SliceScorerHead.class);
        SliceScorerHead head = (SliceScorerHead) net.head();
        ImageInput input = imageInput(net.card());
        int targets = numTargets(net.card());
        return new SliceScorer() {
            @Override
            public ImageInput input() {
                return input;
            }

            @Override
            public int targets() {
                return targets;
            }

            @Override
            public SlicePicks score(Tensor slices) {
                try (Tensor onDevice = backend.upload(slices);
                        Tensor features = net.backbone().forward(backend, onDevice)) {
                    SliceScorerHead.Output out = head.forward(features);
                    return new SlicePicks(out.slice(), out.confidence());
                }
            }
        };
    }

    @Override
    public PointModel pointModel(Path cardFile) {
        Network net = load(cardFile, KeypointHead.class);
        KeypointHead head = (KeypointHead) net.head();
        ImageInput input = imageInput(net.card());
        int targets = numTargets(net.card());
        return new PointModel() {
            @Override
            public ImageInput input() {
                return input;
            }

            @Override
            public int targets() {
                return targets;
            }

            @Override
            public float[][][] locate(Tensor images) {
                try (Tensor onDevice = backend.upload(images);
                        Tensor features = net.backbone().forward(backend, onDevice)) {
                    return head.forward(features);
                }
            }
        };
    }

    @Override
    public BagGrader grader(Path cardFile) {
        Network net = load(cardFile, Head.class);
        ModelCard.Input input = net.card().input();
        return new BagGrader() {
            @Override
            public int slices() {
                return input.slices();
            }

            @Override
            public int channels() {
                return input.channels();
            }

            @Override
            public Grades grade(Tensor bags) {
                int t = bags.size(0);
                int s = bags.size(1);
                // the encoder sees every instance of every bag: [T·S, C, h, w]
                // bags cut on this backend's device are graded where they are
                Tensor instances = bags.reshape((long) t * s, bags.dim(2), bags.dim(3),
                        bags.dim(4));
                boolean resident = bags.device().equals(backend.device());
                try (Tensor onDevice = resident ? instances : backend.upload(instances)) {
                    return switch (net.head()) {
                        case MilBiLstmHead mil -> {
                            try (Tensor features = net.backbone().forward(backend, onDevice)) {
                                MilBiLstmHead.Output out = mil.forward(
                                        features.reshape(t, s, features.dim(1)));
                                yield new Grades(out.logits(), out.attention());
                            }
                        }
                        case ConcatPoolHead pool -> {
                            try (Tensor maps = net.backbone().forwardFeatures(backend,
                                    onDevice)) {
                                yield new Grades(pool.forward(maps, s), null);
                            }
                        }
                        default -> throw new IllegalArgumentException(net.card().file()
                                + ": a stage-2 member needs a mil_bilstm or concat_pool head,"
                                + " not " + net.head().type());
                    };
                }
            }
        };
    }

    @Override
    public Optional<CudaBackend> bagDevice() {
        Backend doing = backend;
        while (doing instanceof DeadlineBackend wrapper) {
            doing = wrapper.inner();
        }
        return doing instanceof CudaBackend cuda ? Optional.of(cuda) : Optional.empty();
    }

    @Override
    public String backendName() {
        return backend.name();
    }

    /** Name and SHA-256 of the weights of every network loaded so far, for reports. */
    public List<ModelFingerprint> fingerprints() throws IOException {
        List<ModelFingerprint> prints = new ArrayList<>();
        for (Network net : loaded.values()) {
            prints.add(ModelFingerprint.of(net.card().name(), net.card().weights()));
        }
        return prints;
    }

    @Override
    public void close() {
        loaded.values().forEach(net -> net.parts().close());
        loaded.clear();
    }

    private Network load(Path cardFile, Class<? extends Head> wanted) {
        Network net = loaded.get(cardFile);
        if (net == null) {
            try {
                net = build(cardFile);
            } catch (IOException e) {
                // a message that names the card already is not prefixed with it again
                String message = String.valueOf(e.getMessage());
                throw new UncheckedIOException(message.contains(cardFile.toString()) ? message
                        : cardFile + ": " + message, e);
            }
            loaded.put(cardFile, net);
        }
        if (!wanted.isInstance(net.head())) {
            throw new IllegalArgumentException(cardFile + ": head '" + net.head().type()
                    + "' cannot serve here; expected " + wanted.getSimpleName());
        }
        return net;
    }

    private Network build(Path cardFile) throws IOException {
        ModelCard card = ModelCard.load(cardFile);
        if (card.backbone().numClasses() != 0) {
            throw new IllegalArgumentException(cardFile + ": backbone.num_classes must be 0 in an"
                    + " ensemble; the head owns the classifier");
        }
        CardNetwork network;
        try {
            network = CardNetwork.build(card);
        } catch (CardNetwork.Unusable e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        if (network.head().isEmpty()) {
            network.close();
            throw new IllegalArgumentException(cardFile + ": an ensemble's networks need a"
                    + " head; the card's head type is " + CardNetwork.NO_HEAD);
        }
        try (WeightSet weights = network.openWeights()) {
            network.load(weights, backend);
        } catch (RuntimeException | IOException e) {
            network.close();
            throw e;
        }
        return new Network(network, network.head().get());
    }

    /**
     * The card's input as a stage-1 network reads it: whole slices, channels repeated unless
     * the manifest's stage-1 entry asks for neighbours.
     */
    private static ImageInput imageInput(ModelCard card) {
        ModelCard.Input in = card.input();
        return new ImageInput(in.height(), in.width(), in.channels(),
                BagGeometry.ChannelMode.REPEAT, normalisation(card));
    }

    static Normalisation normalisation(ModelCard card) {
        Map<String, Object> n = card.input().normalize();
        String mode = card.input().normalizeMode();
        return switch (mode) {
            case "minmax" -> Normalisation.MINMAX;
            case "zscore" -> Normalisation.ZSCORE;
            case "window" -> {
                if (!(n.get("low") instanceof Number low)
                        || !(n.get("high") instanceof Number high)) {
                    throw new IllegalArgumentException(card.file() + ": input.normalize window"
                            + " needs numbers 'low' and 'high'");
                }
                yield Normalisation.window(low.doubleValue(), high.doubleValue());
            }
            default -> throw new IllegalArgumentException(card.file() + ": input.normalize.mode '"
                    + mode + "' is not minmax, zscore or window");
        };
    }

    private static int numTargets(ModelCard card) {
        if (!(card.head().get("num_targets") instanceof Number n)) {
            throw new IllegalArgumentException(card.file() + ": head.num_targets is required");
        }
        return n.intValue();
    }

    /** Names of the cards loaded so far, in load order. */
    public List<String> loadedModels() {
        List<String> names = new ArrayList<>();
        loaded.values().forEach(n -> names.add(n.card().name()));
        return names;
    }
}
