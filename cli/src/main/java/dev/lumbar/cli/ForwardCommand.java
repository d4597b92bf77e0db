package dev.lumbar.cli;

import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.backend.cpu.CpuBackend;
import dev.lumbar.engine.io.Npy;
import dev.lumbar.engine.io.SafetensorsException;
import dev.lumbar.engine.model.ModelCard;
import dev.lumbar.engine.model.WeightSet;
import dev.lumbar.engine.model.backbone.Backbone;
import dev.lumbar.engine.model.backbone.Backbones;
import dev.lumbar.engine.tensor.Tensor;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lumbar forward}: one model card's network on one input array. */
@Command(name = "forward",
        mixinStandardHelpOptions = true,
        description = {
            "Runs one model card's network on an input array and writes the output array.",
            "The input is a float32/float64 .npy of shape [N, C, H, W] (or [C, H, W] for one",
            "image); the output is a float32 .npy: [N, K] logits, or [N, D] pooled features",
            "when the backbone has num_classes 0, or with --features the feature map",
            "[N, D, h, w]. Cards whose head type is 'none' (the backbone alone) are run.",
            "",
            "Exit codes: 0 written, 2 bad command line or an input file that is missing,",
            "malformed or does not fit the model, 4 a card this command does not run",
            "(unknown architecture, a head), 5 the device is not available."})
public final class ForwardCommand implements Callable<Integer> {

    static final int EXIT_BAD_INPUT = 2;
    static final int EXIT_UNSUPPORTED = 4;
    static final int EXIT_NO_DEVICE = 5;

    private static final System.Logger LOG = System.getLogger(ForwardCommand.class.getName());

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "CARD",
            description = "model card (*.model.json, format lumbar-model/1)")
    Path model;

    @Option(names = {"-i", "--input"}, required = true, paramLabel = "FILE",
            description = "input array (.npy), [N, C, H, W] or [C, H, W]")
    Path input;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE",
            description = "output array (.npy, float32), written atomically")
    Path output;

    @Option(names = "--device", defaultValue = "auto", paramLabel = "DEVICE",
            description = "auto, cpu or cuda (default: ${DEFAULT-VALUE})")
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

        // the card, and the network it names
        ModelCard card;
        Backbone backbone;
        try {
            card = ModelCard.load(model);
        } catch (IOException e) {
            return fail(err, EXIT_BAD_INPUT, e);
        }
        if (!card.headType().equals("none")) {
            // LIMITATION: only backbone-only cards (head type 'none') run here; a card with a
            // MIL or scoring head is refused with exit code 4 instead of running its head.
            err.println("lumbar forward: " + card.file() + ": head type '" + card.headType()
                    + "' is not run by this command; only cards with head type 'none' are");
            return EXIT_UNSUPPORTED;
        }
        ModelCard.Backbone backboneSpec = card.backbone();
        try {
            backbone = Backbones.create(backboneSpec.arch(), backboneSpec.inChans(),
                    backboneSpec.numClasses(), backboneSpec.config());
        } catch (IllegalArgumentException e) {
            // an architecture this engine lacks, or a bad override in a card naming a known one
            err.println("lumbar forward: " + card.file() + ": " + e.getMessage());
            return Backbones.supportedArchs().contains(backboneSpec.arch())
                    ? EXIT_BAD_INPUT : EXIT_UNSUPPORTED;
        }

        // the device
        int workers = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
        if (workers < 1) {
            err.println("lumbar forward: --threads must be at least 1, got " + workers);
            return CommandLine.ExitCode.USAGE;
        }
        switch (device.toLowerCase(Locale.ROOT)) {
            case "auto", "cpu" -> { }
            case "cuda" -> {
                // LIMITATION: this command runs on the CPU backend only; --device cuda exits
                // with code 5 instead of using the GPU.
                err.println("lumbar forward: the CUDA backend is not available to this command;"
                        + " use --device cpu");
                return EXIT_NO_DEVICE;
            }
            default -> {
                err.println("lumbar forward: unknown device '" + device
                        + "'; use auto, cpu or cuda");
                return CommandLine.ExitCode.USAGE;
            }
        }

        // weights, input, forward, output
        String prefix = backboneSpec.prefix();
        Map<String, long[]> expected = new LinkedHashMap<>();
        backbone.expectedTensors().forEach((name, shape) -> expected.put(prefix + name, shape));
        try (backbone;
                WeightSet weights = WeightSet.open(card, expected);
                Backend backend = new CpuBackend(workers);
                Tensor hostInput = Npy.read(requireFile(input, "input"))) {
            backbone.load(name -> view(weights, prefix + name), backend);
            Tensor batch = hostInput.rank() == 3
                    ? hostInput.reshape(1, hostInput.dim(0), hostInput.dim(1), hostInput.dim(2))
                    : hostInput;
            if (batch.rank() != 4 || batch.dim(1) != backbone.inChans()) {
                err.println("lumbar forward: " + input + ": shape "
                        + Arrays.toString(hostInput.shape()) + " does not fit " + backbone.arch()
                        + ", which takes [N, " + backbone.inChans() + ", H, W]");
                return EXIT_BAD_INPUT;
            }

            long start = System.nanoTime();
            try (Tensor x = backend.upload(batch);
                    Tensor y = features
                            ? backbone.forwardFeatures(backend, x) : backbone.forward(backend, x);
                    Tensor result = backend.download(y)) {
                double millis = (System.nanoTime() - start) / 1e6;
                Npy.write(output, result);
                String summary = String.format(Locale.ROOT, "%s on %s: %s -> %s in %.1f ms",
                        backbone.arch(), backend.name(), Arrays.toString(batch.shape()),
                        Arrays.toString(result.shape()), millis);
                LOG.log(System.Logger.Level.DEBUG, summary);
                out.println("lumbar forward: " + summary + ", written to " + output);
            }
        } catch (IOException e) {
            return fail(err, EXIT_BAD_INPUT, e);
        } catch (UncheckedIOException e) {
            return fail(err, EXIT_BAD_INPUT, e.getCause());
        } catch (IllegalArgumentException e) {
            err.println("lumbar forward: " + e.getMessage());
            return EXIT_BAD_INPUT;
        }
        out.flush();
        return CommandLine.ExitCode.OK;
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

    private static int fail(PrintWriter err, int code, IOException e) {
        err.println("lumbar forward: " + (e instanceof java.nio.file.NoSuchFileException
                ? e.getMessage() + ": no such file" : e.getMessage()));
        return code;
    }

    private static Path requireFile(Path file, String what) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new java.nio.file.NoSuchFileException(file + " (" + what + ")");
        }
        return file;
    }
}
