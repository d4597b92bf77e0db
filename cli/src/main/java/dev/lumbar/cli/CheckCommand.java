package dev.lumbar.cli;

import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.backend.Backends;
import dev.lumbar.engine.io.Json;
import dev.lumbar.engine.io.JsonException;
import dev.lumbar.engine.io.Npy;
import dev.lumbar.engine.io.Safetensors;
import dev.lumbar.engine.model.CardNetwork;
import dev.lumbar.engine.model.ModelCard;
import dev.lumbar.engine.model.WeightMismatchException;
import dev.lumbar.engine.model.WeightSet;
import dev.lumbar.engine.pipeline.CardNetworks;
import dev.lumbar.engine.pipeline.EnsembleManifest;
import dev.lumbar.engine.pipeline.LabelPriors;
import dev.lumbar.engine.pipeline.StudyPredictor;
import dev.lumbar.engine.spine.Condition;
import dev.lumbar.engine.spine.SeriesType;
import dev.lumbar.engine.tensor.DType;
import dev.lumbar.engine.tensor.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
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
            "Checks and describes weights, model cards, ensemble manifests and NumPy arrays"
                    + " (.npy).",
            "A file's kind is judged by its first bytes, not its name. A model card is",
            "checked as forward would load it: its backbone and head are built and the",
            "weights it names must hold exactly the tensors they expect, with their shapes,",
            "in F32, F16 or BF16, with finite values and BatchNorm variances of zero or more",
            "(a weights file checked alone is held to the same, every tensor of it).",
            "An ensemble manifest (lumbar-ensemble/1) is loaded as predict loads it: every",
            "stage-1 and stage-2 card built on the CPU and checked against its weights, the",
            "stage-1 target counts and every member's bag against its card.",
            "",
            "Exit codes: 0 every file is valid, 1 an internal error (a bug), 2 a file is"
                    + " invalid or unreadable."})
public final class CheckCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(arity = "1..*", paramLabel = "FILE", description = "files to check")
    List<Path> files;

    @Option(names = {"-t", "--tensors"},
            description = "list every tensor of a safetensors file (name, dtype, shape)")
    boolean listTensors;

    /** What a file holds, judged by its first bytes. */
    enum Kind { SAFETENSORS, NPY, MODEL_CARD, UNKNOWN }

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        int exit = 0;
        for (Path file : files) {
            try {
                requireReadableFile(file);
                switch (sniff(file)) {
                    case MODEL_CARD -> {
                        if (isEnsemble(file)) {
                            describeEnsemble(out, file);
                        } else {
                            describeCard(out, file);
                        }
                    }
                    case NPY -> describeArray(out, file);
                    case SAFETENSORS -> describeWeights(out, file, "");
                    case UNKNOWN -> throw new IOException(file + ": not a safetensors file, an"
                            + " .npy array or a model card (by its first bytes"
                            + expectation(file) + ")");
                }
            } catch (IOException | CardNetwork.Unusable e) {
                err.println("lumbar check: " + withFile(file, e.getMessage()));
                exit = Main.BAD_INPUT;
            } catch (UncheckedIOException e) {
                err.println("lumbar check: " + withFile(file, e.getCause().getMessage()));
                exit = Main.BAD_INPUT;
            } catch (IllegalArgumentException e) {
                // an ensemble the loader refuses: the message names the manifest or the card
                err.println("lumbar check: " + withFile(file, e.getMessage()));
                exit = Main.BAD_INPUT;
            }
            out.flush();
        }
        err.flush();
        return exit;
    }

    private static void requireReadableFile(Path file) throws IOException {
        if (Files.isDirectory(file)) {
            throw new IOException(file + ": is a folder, not a file");
        }
        if (!Files.exists(file)) {
            throw new NoSuchFileException(file + ": no such file");
        }
        if (!Files.isRegularFile(file)) {
            throw new IOException(file + ": not a regular file");
        }
        if (!Files.isReadable(file)) {
            throw new IOException(file + ": not readable (permission denied)");
        }
    }

    /**
     * Judges a file by content, so that a misnamed file is read by the right reader and a
     * file of another kind is named as such instead of failing deep in a parser.
     */
    static Kind sniff(Path file) throws IOException {
        byte[] head;
        try (InputStream in = Files.newInputStream(file)) {
            head = in.readNBytes(16);
        }
        long size = Files.size(file);
        if (head.length >= 6 && (head[0] & 0xff) == 0x93
                && new String(head, 1, 5, StandardCharsets.ISO_8859_1).equals("NUMPY")) {
            return Kind.NPY;
        }
        // safetensors: an 8-byte little-endian header length, then the JSON header
        if (head.length >= 9 && head[8] == '{') {
            long headerLength = ByteBuffer.wrap(head, 0, 8).order(ByteOrder.LITTLE_ENDIAN)
                    .getLong();
            if (headerLength >= 2 && headerLength <= size - 8) {
                return Kind.SAFETENSORS;
            }
        }
        for (byte b : head) {
            if (b == '{') {
                return Kind.MODEL_CARD;
            }
            if (b != ' ' && b != '\t' && b != '\n' && b != '\r') {
                break;
            }
        }
        if (head.length >= 9 && head[8] == '{') {
            // a safetensors file whose header length is wrong: its reader says how
            return Kind.SAFETENSORS;
        }
        return Kind.UNKNOWN;
    }

    private static String expectation(Path file) {
        String name = file.getFileName().toString();
        if (name.endsWith(".safetensors")) {
            return "; the name says safetensors, but byte 8 does not start a JSON header";
        }
        if (name.endsWith(".npy")) {
            return "; the name says .npy, but the magic bytes \\x93NUMPY are missing";
        }
        if (name.endsWith(".json")) {
            return "; the name says JSON, but the file does not start with '{'";
        }
        return "";
    }

    /** The message, starting with the file's name unless it already names it. */
    private static String withFile(Path file, String message) {
        String text = message == null ? "unreadable" : message;
        return text.contains(file.toString()) ? text : file + ": " + text;
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
            if (indent.isEmpty()) {
                requireRunnableValues(file, weights);
            }
        }
    }

    /**
     * Refuses a weights file checked without its card whose tensors no network could run
     * ({@link WeightSet#unrunnable}: a dtype other than F32, F16 or BF16, NaN or infinity, a
     * negative BatchNorm variance), as a card's check refuses them among the tensors it
     * expects. BatchNorm's step counters are left alone, as loading leaves them.
     */
    private static void requireRunnableValues(Path file, Safetensors weights)
            throws IOException {
        List<String> problems = new ArrayList<>();
        for (Safetensors.Entry entry : weights.entries().values()) {
            if (!entry.name().endsWith(".num_batches_tracked")) {
                WeightSet.unrunnable(weights, entry.name())
                        .ifPresent(problem -> problems.add(problem.toString()));
            }
        }
        if (!problems.isEmpty()) {
            throw new IOException(file + ": " + problems.size() + " tensor"
                    + (problems.size() == 1 ? "" : "s") + " no network can run: "
                    + String.join("; ", WeightMismatchException.firstOf(problems)));
        }
    }

    /** Whether a JSON file says it is an ensemble manifest; unreadable JSON is left to cards. */
    private static boolean isEnsemble(Path file) throws IOException {
        try {
            return Json.read(file) instanceof Map<?, ?> root
                    && EnsembleManifest.FORMAT.equals(root.get("format"));
        } catch (JsonException e) {
            return false;
        }
    }

    /**
     * Checks a manifest exactly as {@code predict} loads it before its first study, on a
     * one-thread CPU backend, then says what it holds.
     */
    private static void describeEnsemble(PrintWriter out, Path file) throws IOException {
        EnsembleManifest manifest = EnsembleManifest.read(file);
        LabelPriors priors = manifest.priors() == null ? LabelPriors.uniform()
                : LabelPriors.read(manifest.priors());
        Path folder = file.toAbsolutePath().getParent();
        int networks;
        try (Backend backend = Backends.open("cpu", 1);
                CardNetworks loaded = new CardNetworks(backend)) {
            new StudyPredictor(manifest, loaded, priors).loadAll();
            networks = loaded.fingerprints().size();
        }
        out.printf("%s: %s '%s'%s, priors %s%n", file, EnsembleManifest.FORMAT,
                manifest.name(), manifest.trained() ? "" : " (marked untrained)",
                manifest.priors() == null ? "none (1/3 each)" : folder.relativize(
                        manifest.priors()));
        for (SeriesType type : SeriesType.values()) {
            manifest.stage1(type).ifPresent(m -> out.printf("  stage1 %s: slices %s, points %s,"
                    + " channels %s%n", type, shown(folder, m.slices()), shown(folder, m.points()),
                    m.channelMode().name().toLowerCase(Locale.ROOT)));
        }
        Set<EnsembleManifest.Member> members = new LinkedHashSet<>();
        for (Condition condition : Condition.ALL) {
            members.addAll(manifest.plan(condition).members());
        }
        for (EnsembleManifest.Member member : members) {
            out.printf(Locale.ROOT, "  member %s: %s on %s, bag %d slices x %d channels, %d x %d%n",
                    member.name(), shown(folder, member.model()), member.view(),
                    member.bag().slices(), member.bag().channels(), member.bag().outRows(),
                    member.bag().outCols());
        }
        out.printf("  all %d networks built and checked against their weights; stage-1 targets"
                + " and every bag match their cards%n", networks);
    }

    private static String shown(Path folder, Path card) {
        return card == null ? "none" : folder.relativize(card).toString();
    }

    private void describeCard(PrintWriter out, Path file)
            throws IOException, CardNetwork.Unusable {
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
        // the network as forward builds it, and its weights checked as forward loads them
        try (CardNetwork network = CardNetwork.build(card);
                WeightSet weights = network.openWeights()) {
            out.printf(Locale.ROOT, "  network %s (%d features) + head %s: all %d tensors"
                    + " present with their shapes%n", network.backbone().arch(),
                    network.backbone().numFeatures(), card.headType(),
                    network.expectedTensors().size());
        }
        describeWeights(out, card.weights(), "  ");
    }

    private static void describeArray(PrintWriter out, Path file) throws IOException {
        try (Tensor array = Npy.read(file)) {
            double sum = 0;
            float min = Float.POSITIVE_INFINITY;
            float max = Float.NEGATIVE_INFINITY;
            long n = array.numel();
            long finite = 0;
            for (long i = 0; i < n; i++) {
                float v = array.getFloat(i);
                if (Float.isFinite(v)) {
                    sum += v;
                    min = Math.min(min, v);
                    max = Math.max(max, v);
                    finite++;
                }
            }
            out.printf("%s: npy F32 %s", file, Arrays.toString(array.shape()));
            if (finite > 0) {
                out.printf(", min %s, max %s, mean %s", min, max, sum / finite);
            }
            if (finite < n) {
                // an array is valid as a file whatever its values; this says what it holds
                out.printf(", %d NaN or infinite (left out of min, max and mean)", n - finite);
            }
            out.println();
        }
    }

    /** How many of an F32 array's values are NaN or infinite. */
    static long nonFinite(Tensor array) {
        long count = 0;
        for (long i = 0; i < array.numel(); i++) {
            count += Float.isFinite(array.getFloat(i)) ? 0 : 1;
        }
        return count;
    }
}
