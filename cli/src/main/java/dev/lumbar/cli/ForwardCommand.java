package dev.lumbar.cli;

import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.backend.Backends;
import dev.lumbar.engine.io.AtomicFile;
import dev.lumbar.engine.io.Npy;
import dev.lumbar.engine.model.CardNetwork;
import dev.lumbar.engine.model.ModelCard;
import dev.lumbar.engine.model.WeightSet;
import dev.lumbar.engine.model.backbone.Backbone;
import dev.lumbar.engine.model.head.ConcatPoolHead;
import dev.lumbar.engine.model.head.Head;
import dev.lumbar.engine.model.head.KeypointHead;
import dev.lumbar.engine.model.head.MilBiLstmHead;
import dev.lumbar.engine.model.head.SliceScorerHead;
import dev.lumbar.engine.tensor.Tensor;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lumbar forward}: one model card's network on one input array. */
@Command(name = "forward",
        mixinStandardHelpOptions = true,
        description = {
            "Runs one model card's network on an input array and writes the output array.",
            "The input is a float32/float64 .npy; the output a float32 .npy. By head type:",
            "  none: [N, C, H, W] or [C, H, W] -> [N, K] logits, or [N, D] pooled features",
            "    when the backbone has num_classes 0;",
            "  mil_bilstm, concat_pool: bags of input.slices images, [B*S, C, H, W] or",
            "    [B, S, C, H, W] -> [B, K] logits;",
            "  slice_scorer: one series [S, C, H, W] -> [S, T], or [B, S, C, H, W] ->",
            "    [B, S, T]: each target's smoothed probability over the slices;",
            "  keypoint: [N, C, H, W] -> [N, T, 2] (or [B, S, T, 2]): (x/W, y/H) per target.",
            "With --features: the backbone's feature map [N, D, h, w] of every image.",
            "",
            "Exit codes: 0 written, 1 internal error, 2 bad command line or an input file",
            "that is missing, malformed or does not fit the model, 4 a card this command",
            "does not run (unknown architecture or head type), 5 the device is not",
            "available."})
public final class ForwardCommand implements Callable<Integer> {

    static final int EXIT_UNSUPPORTED = 4;
    static final int EXIT_NO_DEVICE = 5;

    /**
     * More CPU workers than this only add scheduling overhead on any machine this runs on
     * (and the JDK's fork-join pool refuses more than 32767).
     */
    static final int MAX_THREADS = 1024;

    private static final System.Logger LOG = System.getLogger(ForwardCommand.class.getName());

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "CARD",
            description = "model card (*.model.json, format lumbar-model/1)")
    Path model;

    @Option(names = {"-i", "--input"}, required = true, paramLabel = "FILE",
            description = "input array (.npy): [N, C, H, W], [B, S, C, H, W] or [C, H, W]")
    Path input;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE",
            description = "output array (.npy, float32), written atomically")
    Path output;

    @Option(names = "--device", defaultValue = "auto", paramLabel = "DEVICE",
            description = "auto, cpu, cuda or cuda:N (default: ${DEFAULT-VALUE}: the GPU"
                    + " when one works, else the CPU)")
    String device;

    @Option(names = "--threads", paramLabel = "N",
            description = "CPU worker threads (default: the number of processors)")
    Integer threads;

    @Option(names = "--features",
            description = "write the backbone's feature map before pooling instead")
    boolean features;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();

        // the command line's own values first: they need no file
        int workers = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
        if (workers < 1 || workers > MAX_THREADS) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--threads must be"
                    + " between 1 and " + MAX_THREADS + ", got " + workers);
        }

        // the card, and the network it names
        ModelCard card;
        try {
            card = ModelCard.load(model);
        } catch (NoSuchFileException e) {
            return fail(err, Main.BAD_INPUT, model + ": no such model card");
        } catch (IOException e) {
            return fail(err, Main.BAD_INPUT, withFile(model, e.getMessage()));
        }
        try (CardNetwork network = CardNetwork.build(card)) {
            return run(network, workers, out, err);
        } catch (CardNetwork.Unusable e) {
            return fail(err, e.unsupported() ? EXIT_UNSUPPORTED : Main.BAD_INPUT,
                    e.getMessage());
        }
    }

    private int run(CardNetwork network, int workers, PrintWriter out, PrintWriter err) {
        Path target = output.toAbsolutePath().normalize();
        if (Files.isDirectory(target)) {
            return fail(err, Main.BAD_INPUT, output + ": is a folder; name the output file");
        }
        try {
            AtomicFile.replaceable(output);
        } catch (IOException e) {
            return fail(err, Main.BAD_INPUT, e.getMessage());
        }
        Path folder = target.getParent();
        if (folder == null || !Files.isDirectory(folder)) {
            return fail(err, Main.BAD_INPUT, output + ": the folder " + folder
                    + " does not exist");
        }
        if (Files.isDirectory(input)) {
            return fail(err, Main.BAD_INPUT, input + ": is a folder, not an input array");
        }
        if (!Files.isRegularFile(input)) {
            return fail(err, Main.BAD_INPUT, input + ": no such input file");
        }

        try (WeightSet weights = network.openWeights();
                Tensor hostInput = Npy.read(input)) {
            long nonFinite = CheckCommand.nonFinite(hostInput);
            if (nonFinite > 0) {
                // run as PyTorch would, but say why the outputs will hold NaN
                err.println("lumbar forward: warning: " + input + " holds " + nonFinite
                        + " NaN or infinite values; the outputs will hold NaN");
            }
            Batch batch;
            try {
                batch = Batch.of(network, hostInput, features);
            } catch (IllegalArgumentException e) {
                return fail(err, Main.BAD_INPUT, input + ": " + e.getMessage());
            }
            Backend backend;
            try {
                backend = Backends.open(device, workers);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            } catch (IllegalStateException e) {
                return fail(err, EXIT_NO_DEVICE, e.getMessage());
            }
            try (backend) {
                network.load(weights, backend);
                long start = System.nanoTime();
                Tensor computed;
                try {
                    computed = batch.run(network, backend);
                } catch (IllegalArgumentException e) {
                    // the network refuses the input's shape (images too small for it): the
                    // input is unusable, not the program broken
                    return fail(err, Main.BAD_INPUT, input + ": " + e.getMessage());
                }
                try (Tensor result = computed) {
                    double millis = (System.nanoTime() - start) / 1e6;
                    writeOutput(result);
                    String summary = String.format(Locale.ROOT, "%s on %s: %s -> %s in %.1f ms",
                            describe(network), backend.name(),
                            Arrays.toString(hostInput.shape()),
                            Arrays.toString(result.shape()), millis);
                    LOG.log(System.Logger.Level.DEBUG, summary);
                    out.println("lumbar forward: " + summary + ", written to " + output);
                }
            }
        } catch (IOException e) {
            return fail(err, Main.BAD_INPUT, e.getMessage());
        }
        out.flush();
        return CommandLine.ExitCode.OK;
    }

    private static String describe(CardNetwork network) {
        return network.backbone().arch()
                + network.head().map(head -> " + " + head.type()).orElse("");
    }

    /** Writes the output (atomically, by {@link Npy#write}), naming it on failure. */
    private void writeOutput(Tensor result) throws IOException {
        try {
            Npy.write(output, result);
        } catch (IOException e) {
            throw new IOException(output + ": cannot write the output ("
                    + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage())
                    + ")", e);
        }
    }

    private static int fail(PrintWriter err, int code, String message) {
        err.println("lumbar forward: " + message);
        err.flush();
        return code;
    }

    private static String withFile(Path file, String message) {
        String text = message == null ? "unreadable" : message;
        return text.contains(file.toString()) ? text : file + ": " + text;
    }

    /**
     * The input laid out for the card's network: every image as one {@code [N, C, H, W]}
     * batch for the backbone, grouped into {@code bags} of {@code slices} for the head.
     *
     * @param images     all images, bag by bag
     * @param bags       B, bags (or series) in the input
     * @param slices     S, images per bag
     * @param fiveD      whether the input was {@code [B, S, C, H, W]} (outputs keep B and S)
     * @param featureMap whether the backbone's feature map is wanted instead of the head
     */
    private record Batch(Tensor images, int bags, int slices, boolean fiveD,
            boolean featureMap) {

        /** Checks the input's shape against the card and lays it out. */
        static Batch of(CardNetwork network, Tensor input, boolean featureMap) {
            int channels = network.backbone().inChans();
            String type = network.head().map(Head::type).orElse(CardNetwork.NO_HEAD);
            int cardSlices = network.card().input().slices();
            String takes = switch (type) {
                case CardNetwork.NO_HEAD -> "[N, " + channels + ", H, W] or [" + channels
                        + ", H, W]";
                case MilBiLstmHead.TYPE, ConcatPoolHead.TYPE -> "[B·" + cardSlices + ", "
                        + channels + ", H, W] or [B, " + cardSlices + ", " + channels
                        + ", H, W] (input.slices is " + cardSlices + ")";
                case SliceScorerHead.TYPE -> "one series [S, " + channels + ", H, W] or"
                        + " series [B, S, " + channels + ", H, W]";
                default -> "[N, " + channels + ", H, W] or [B, S, " + channels + ", H, W]";
            };
            String misfit = "shape " + Arrays.toString(input.shape()) + " does not fit "
                    + network.backbone().arch() + " + " + type + ", which takes " + takes;
            Tensor images;
            int bags;
            int slices;
            boolean fiveD = input.rank() == 5;
            switch (input.rank()) {
                case 3 -> {
                    images = input.reshape(1, input.dim(0), input.dim(1), input.dim(2));
                    bags = 1;
                    slices = 1;
                }
                case 4 -> {
                    images = input;
                    bags = input.size(0);
                    slices = 1;
                }
                case 5 -> {
                    if (type.equals(CardNetwork.NO_HEAD)) {
                        throw new IllegalArgumentException(misfit);
                    }
                    images = input.reshape(input.dim(0) * input.dim(1), input.dim(2),
                            input.dim(3), input.dim(4));
                    bags = input.size(0);
                    slices = input.size(1);
                }
                default -> throw new IllegalArgumentException(misfit);
            }
            if (images.dim(1) != channels || images.dim(0) < 1) {
                throw new IllegalArgumentException(misfit);
            }
            switch (type) {
                case MilBiLstmHead.TYPE, ConcatPoolHead.TYPE -> {
                    if (fiveD ? slices != cardSlices : images.dim(0) % cardSlices != 0) {
                        throw new IllegalArgumentException(misfit);
                    }
                    bags = (int) (images.dim(0) / cardSlices);
                    slices = cardSlices;
                }
                case SliceScorerHead.TYPE -> {
                    if (!fiveD) {
                        // one series: every image is one of its slices
                        slices = images.size(0);
                        bags = 1;
                    }
                }
                default -> { }
            }
            return new Batch(images, bags, slices, fiveD, featureMap);
        }

        /** Runs the network; the result is on the host. */
        Tensor run(CardNetwork network, Backend backend) {
            Backbone backbone = network.backbone();
            try (Tensor x = backend.upload(images)) {
                if (featureMap) {
                    try (Tensor maps = backbone.forwardFeatures(backend, x)) {
                        return backend.download(maps);
                    }
                }
                if (network.head().isEmpty()) {
                    try (Tensor y = backbone.forward(backend, x)) {
                        return backend.download(y);
                    }
                }
                return switch (network.head().get()) {
                    case ConcatPoolHead pool -> {
                        try (Tensor maps = backbone.forwardFeatures(backend, x)) {
                            yield rows(pool.forward(maps, slices));
                        }
                    }
                    case MilBiLstmHead mil -> {
                        try (Tensor pooled = backbone.forward(backend, x)) {
                            yield rows(mil.forward(pooled.reshape(bags, slices,
                                    pooled.dim(1))).logits());
                        }
                    }
                    case SliceScorerHead scorer -> {
                        try (Tensor pooled = backbone.forward(backend, x)) {
                            yield slicePicks(scorer, pooled, backend);
                        }
                    }
                    case KeypointHead points -> {
                        try (Tensor pooled = backbone.forward(backend, x)) {
                            yield keypoints(points.forward(pooled));
                        }
                    }
                };
            }
        }

        /** Each series' smoothed slice probabilities: [S, T], or [B, S, T] for 5-D input. */
        private Tensor slicePicks(SliceScorerHead scorer, Tensor pooled, Backend backend) {
            int width = pooled.size(1);
            float[] all;
            try (Tensor host = backend.download(pooled)) {
                all = host.toFloatArray();
            }
            int targets = -1;
            float[] result = null;
            for (int b = 0; b < bags; b++) {
                float[] series = Arrays.copyOfRange(all, b * slices * width,
                        (b + 1) * slices * width);
                try (Tensor rows = Tensor.of(series, slices, width);
                        Tensor onDevice = backend.upload(rows)) {
                    float[][] probabilities = scorer.forward(onDevice).probabilities();
                    if (result == null) {
                        targets = probabilities[0].length;
                        result = new float[bags * slices * targets];
                    }
                    for (int s = 0; s < slices; s++) {
                        System.arraycopy(probabilities[s], 0, result,
                                (b * slices + s) * targets, targets);
                    }
                }
            }
            return fiveD ? Tensor.of(result, bags, slices, targets)
                    : Tensor.of(result, slices, targets);
        }

        /** Per image (x/W, y/H) per target: [N, T, 2], or [B, S, T, 2] for 5-D input. */
        private Tensor keypoints(float[][][] points) {
            int targets = points[0].length;
            float[] flat = new float[points.length * targets * 2];
            for (int n = 0; n < points.length; n++) {
                for (int t = 0; t < targets; t++) {
                    flat[(n * targets + t) * 2] = points[n][t][0];
                    flat[(n * targets + t) * 2 + 1] = points[n][t][1];
                }
            }
            return fiveD ? Tensor.of(flat, bags, slices, targets, 2)
                    : Tensor.of(flat, points.length, targets, 2);
        }

        private static Tensor rows(float[][] logits) {
            int width = logits[0].length;
            float[] flat = new float[logits.length * width];
            for (int i = 0; i < logits.length; i++) {
                System.arraycopy(logits[i], 0, flat, i * width, width);
            }
            return Tensor.of(flat, logits.length, width);
        }
    }
}
