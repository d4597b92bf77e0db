package dev.lumbar.engine.model;

import dev.lumbar.engine.Limits;
import dev.lumbar.engine.io.Safetensors;
import dev.lumbar.engine.io.SafetensorsException;
import dev.lumbar.engine.tensor.DType;
import dev.lumbar.engine.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The weights of one network, opened from its safetensors file and checked against the tensor
 * names and shapes the network's builders expect. After {@link #open} succeeds, every expected
 * name is present with its expected shape and dtype F32, F16 or BF16, and holds finite values
 * (and BatchNorm variances of zero or more).
 *
 * <p>Names in the file that are not expected are an error unless the card's {@code ignore}
 * patterns cover them. BatchNorm's {@code *.num_batches_tracked} counters are ignored without
 * being listed: PyTorch saves them in every state dict and inference never reads them.
 *
 * <p>Owns the mapped file: views from {@link #view} are valid until {@link #close}.
 */
public final class WeightSet implements AutoCloseable {

    private static final String BN_COUNTER_SUFFIX = ".num_batches_tracked";
    private static final String BN_VARIANCE_SUFFIX = ".running_var";

    /**
     * The dtypes a network's weights are loaded from. F64 is not among them: its values can
     * lie beyond the float range, and converting a checkpoint to F32 is the place to see that.
     */
    private static final Set<DType> RUNNABLE = Set.of(DType.F32, DType.F16, DType.BF16);

    private final Safetensors file;
    private final Map<String, long[]> expected;

    private WeightSet(Safetensors file, Map<String, long[]> expected) {
        this.file = file;
        this.expected = expected;
    }

    /** Opens the card's weights and checks them against {@code expected} (name → shape). */
    public static WeightSet open(ModelCard card, Map<String, long[]> expected)
            throws IOException {
        if (!Files.isRegularFile(card.weights())) {
            String problem = Files.isDirectory(card.weights()) ? " is a folder, not a file"
                    : Files.exists(card.weights()) ? " is not a regular file"
                    : " does not exist";
            throw new ModelCardException(card.file(), "weights file " + card.weights()
                    + problem);
        }
        return open(card.weights(), "model '" + card.name() + "' (" + card.file() + ")",
                expected, card.ignore());
    }

    /**
     * Opens {@code weights} and checks it against {@code expected}; {@code model} names the
     * network in the error, {@code ignore} holds exact names or {@code prefix.*} patterns.
     */
    public static WeightSet open(Path weights, String model, Map<String, long[]> expected,
            List<String> ignore) throws IOException {
        Safetensors file = Safetensors.open(weights);
        try {
            check(file, model, expected, ignore);

            // the weights as F32 (F16/BF16 are widened on load) against the memory left
            // LIMITATION: activations and backend workspaces are not counted; a model that fits
            // by this check can still run out of memory on large inputs.
            long f32Bytes = 0;
            for (long[] shape : expected.values()) {
                f32Bytes += 4 * Tensor.numel(shape);
            }
            Limits.current().requireMemoryFor(model, f32Bytes);
            Map<String, long[]> shapes = new LinkedHashMap<>();
            expected.forEach((name, shape) -> shapes.put(name, shape.clone()));
            return new WeightSet(file, shapes);
        } catch (IOException | RuntimeException e) {
            file.close();
            throw e;
        }
    }

    private static void check(Safetensors file, String model, Map<String, long[]> expected,
            List<String> ignore) throws IOException {
        List<String> missing = new ArrayList<>();
        List<String> unexpected = new ArrayList<>();
        List<WeightMismatchException.Mismatch> mismatched = new ArrayList<>();

        for (Map.Entry<String, long[]> want : expected.entrySet()) {
            Safetensors.Entry found = file.entries().get(want.getKey());
            if (found == null) {
                missing.add(want.getKey());
            } else if (!Arrays.equals(want.getValue(), found.shape())) {
                mismatched.add(new WeightMismatchException.Mismatch(want.getKey(),
                        Arrays.toString(want.getValue()), Arrays.toString(found.shape())));
            } else {
                unrunnable(file, want.getKey()).ifPresent(mismatched::add);
            }
        }
        for (String name : file.names()) {
            if (!expected.containsKey(name) && !name.endsWith(BN_COUNTER_SUFFIX)
                    && !ModelCard.matchesAny(ignore, name)) {
                unexpected.add(name);
            }
        }

        if (!missing.isEmpty() || !unexpected.isEmpty() || !mismatched.isEmpty()) {
            throw new WeightMismatchException(file.file(), model, missing, unexpected,
                    mismatched);
        }
    }

    /**
     * Why tensor {@code name} of {@code file} cannot be run, if it cannot: a dtype other than
     * F32, F16 or BF16, or values no trained network holds: NaN or infinity anywhere (a
     * diverged training run or a broken conversion), or a negative BatchNorm variance, whose
     * square root folding takes. Either would otherwise surface only as every study's logits
     * turning NaN.
     */
    public static Optional<WeightMismatchException.Mismatch> unrunnable(Safetensors file,
            String name) throws SafetensorsException {
        DType dtype = file.entry(name).dtype();
        if (!RUNNABLE.contains(dtype)) {
            return Optional.of(new WeightMismatchException.Mismatch(name, "F32, F16 or BF16",
                    dtype.name()));
        }
        long nonFinite = file.nonFiniteCount(name);
        if (nonFinite > 0) {
            return Optional.of(new WeightMismatchException.Mismatch(name, "finite values",
                    nonFinite + " NaN or infinite"));
        }
        if (name.endsWith(BN_VARIANCE_SUFFIX)) {
            long negative = 0;
            try (Tensor variance = file.f32(name)) {
                for (long i = 0; i < variance.numel(); i++) {
                    negative += variance.getFloat(i) < 0 ? 1 : 0;
                }
            }
            if (negative > 0) {
                return Optional.of(new WeightMismatchException.Mismatch(name,
                        "variances of zero or more", negative + " negative"));
            }
        }
        return Optional.empty();
    }

    /** An owned F32 copy (F16/BF16 widened); the caller closes it. */
    public Tensor f32(String name) throws SafetensorsException {
        return file.f32(name);
    }

    /** A zero-copy view in the file's dtype, valid until this set is closed. */
    public Tensor view(String name) throws SafetensorsException {
        return file.view(name);
    }

    public boolean contains(String name) {
        return file.contains(name);
    }

    /** The names and shapes this set was checked against, in the builders' order. */
    public Map<String, long[]> expected() {
        Map<String, long[]> copy = new LinkedHashMap<>();
        expected.forEach((name, shape) -> copy.put(name, shape.clone()));
        return copy;
    }

    /** The underlying file, for metadata and for tensors outside the expected set. */
    public Safetensors file() {
        return file;
    }

    @Override
    public void close() {
        file.close();
    }
}
