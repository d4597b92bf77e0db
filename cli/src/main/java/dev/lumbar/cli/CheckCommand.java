package dev.lumbar.cli;

import dev.lumbar.engine.io.Npy;
import dev.lumbar.engine.io.Safetensors;
import dev.lumbar.engine.model.ModelCard;
import dev.lumbar.engine.tensor.DType;
import dev.lumbar.engine.tensor.Tensor;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code lumbar check}: checks weights, model cards and arrays against their formats and
 * says what they hold, so a conversion can be verified before anything runs.
 */
@Command(name = "check",
        mixinStandardHelpOptions = true,
        description = {
            "Checks and describes safetensors weights (*.safetensors), model cards "
                    + "(*.model.json, with the weights they name) and arrays (*.npy).",
            "Exit codes: 0 every file is valid, 2 a file is invalid or unreadable."})
public final class CheckCommand implements Callable<Integer> {

    /** Exit code when at least one file is invalid or cannot be read (bad input). */
    public static final int INVALID_INPUT = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(arity = "1..*", paramLabel = "FILE", description = "files to check")
    List<Path> files;

    @Option(names = {"-t", "--tensors"},
            description = "list every tensor of a safetensors file (name, dtype, shape)")
    boolean listTensors;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        int exit = 0;
        for (Path file : files) {
            try {
                String name = file.getFileName().toString();
                if (name.endsWith(".model.json")) {
                    describeCard(out, file);
                } else if (name.endsWith(".npy")) {
                    describeArray(out, file);
                } else {
                    describeWeights(out, file, "");
                }
            } catch (IOException | RuntimeException e) {
                err.println("invalid: " + (e.getMessage() == null ? e.toString()
                        : e.getMessage()));
                exit = INVALID_INPUT;
            }
        }
        out.flush();
        err.flush();
        return exit;
    }

    private void describeWeights(PrintWriter out, Path file, String indent) throws IOException {
        try (Safetensors weights = Safetensors.open(file)) {
            long elements = 0;
            Map<DType, Integer> byDtype = new TreeMap<>();
            for (Safetensors.Entry entry : weights.entries().values()) {
                elements += Tensor.numel(entry.shape());
                byDtype.merge(entry.dtype(), 1, Integer::sum);
            }
            out.printf(Locale.ROOT, "%s%s: safetensors, %d tensors %s, %,d elements, %,d bytes%n",
                    indent,
                    file, weights.names().size(), byDtype, elements, Files.size(file));
            weights.metadata().forEach((key, value) ->
                    out.printf("%s  metadata %s = %s%n", indent, key, value));
            if (listTensors) {
                for (Safetensors.Entry entry : weights.entries().values()) {
                    out.printf("%s  %s %s %s%n", indent, entry.name(), entry.dtype(),
                            Arrays.toString(entry.shape()));
                }
            }
        }
    }

    private void describeCard(PrintWriter out, Path file) throws IOException {
        ModelCard card = ModelCard.load(file);
        ModelCard.Backbone backbone = card.backbone();
        ModelCard.Input input = card.input();
        out.printf("%s: %s '%s'%n", file, ModelCard.FORMAT, card.name());
        out.printf("  backbone %s, in_chans %d, prefix '%s', num_classes %d, config %s%n",
                backbone.arch(), backbone.inChans(), backbone.prefix(), backbone.numClasses(),
                backbone.config());
        out.printf("  head %s%n", card.head());
        out.printf("  input %d slices x %d x %d x %d, normalize %s%n", input.slices(),
                input.channels(), input.height(), input.width(), input.normalize());
        if (!card.ignore().isEmpty()) {
            out.printf("  ignore %s%n", card.ignore());
        }
        if (!Files.isRegularFile(card.weights())) {
            throw new IOException(file + ": weights file " + card.weights()
                    + " does not exist");
        }
        describeWeights(out, card.weights(), "  ");
    }

    private static void describeArray(PrintWriter out, Path file) throws IOException {
        try (Tensor array = Npy.read(file)) {
            double sum = 0;
            float min = Float.POSITIVE_INFINITY;
            float max = Float.NEGATIVE_INFINITY;
            long n = array.numel();
            for (long i = 0; i < n; i++) {
                float v = array.getFloat(i);
                sum += v;
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
            out.printf("%s: npy F32 %s", file, Arrays.toString(array.shape()));
            if (n > 0) {
                out.printf(", min %s, max %s, mean %s", min, max, sum / n);
            }
            out.println();
        }
    }
}
