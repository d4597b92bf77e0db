package dev.lumbar.engine.backend;

import dev.lumbar.bindings.NativeLibraries;
import dev.lumbar.engine.backend.cpu.CpuBackend;
import dev.lumbar.engine.backend.cuda.CudaBackend;
import dev.lumbar.engine.backend.cuda.CudaOptions;
import java.util.Locale;

/** Chooses a backend by name: {@code cpu}, {@code cuda} (or {@code cuda:N}) or {@code auto}. */
public final class Backends {

    private static final System.Logger LOG = System.getLogger(Backends.class.getName());

    private Backends() {
    }

    /**
     * Opens a backend.
     *
     * @param choice  {@code auto} (the GPU when one works, else the CPU), {@code cpu},
     *                {@code cuda} or {@code cuda:N}
     * @param threads CPU worker threads (for the CPU backend)
     * @throws IllegalArgumentException for an unknown choice
     * @throws IllegalStateException    for {@code cuda} without a usable GPU, saying why
     */
    public static Backend open(String choice, int threads) {
        return open(choice, threads, CudaOptions.defaults());
    }

    public static Backend open(String choice, int threads, CudaOptions cudaOptions) {
        Choice device = parse(choice);
        if (device.kind().equals("cpu")) {
            return new CpuBackend(threads);
        }
        if (device.kind().equals("auto")) {
            CudaBackend.Probe probe = CudaBackend.probe(NativeLibraries.system());
            if (probe.usable()) {
                try {
                    return CudaBackend.open(cudaOptions);
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.WARNING, "GPU present but not usable, running "
                            + "on the CPU: {0}", e.getMessage());
                }
            } else {
                LOG.log(System.Logger.Level.INFO, "running on the CPU: {0}", probe.summary());
            }
            return new CpuBackend(threads);
        }
        CudaBackend.Probe probe = CudaBackend.probe(NativeLibraries.system());
        if (!probe.usable()) {
            throw new IllegalStateException("no usable GPU for --device " + choice + ": "
                    + probe.summary() + " (use --device cpu or auto)");
        }
        return CudaBackend.open(new CudaOptions(device.ordinal(), cudaOptions.precision(),
                cudaOptions.deterministic(), cudaOptions.memoryLimitBytes()));
    }

    /**
     * Checks that {@code choice} names a device {@link #open} knows, without opening anything,
     * so that a command can refuse a misspelt device before its slow work.
     *
     * @throws IllegalArgumentException for an unknown choice
     */
    public static void requireKnown(String choice) {
        parse(choice);
    }

    /** A device choice: {@code kind} is auto, cpu or cuda; {@code ordinal} the GPU's number. */
    private record Choice(String kind, int ordinal) { }

    private static Choice parse(String choice) {
        // not trimmed: a device with spaces around it is refused as any other unknown one, as
        // the numeric options refuse " 2" and paths are taken as written ("cuda: 0" never
        // passed, so trimming the ends alone only made spaces matter in some places)
        String normalised = choice.toLowerCase(Locale.ROOT);
        if (normalised.equals("cpu") || normalised.equals("auto") || normalised.equals("cuda")) {
            return new Choice(normalised, 0);
        }
        if (normalised.startsWith("cuda:")) {
            try {
                int ordinal = Integer.parseInt(normalised.substring(5));
                if (ordinal >= 0) {
                    return new Choice("cuda", ordinal);
                }
            } catch (NumberFormatException e) {
                // refused below with the form expected
            }
            throw new IllegalArgumentException("device '" + choice + "': expected cuda:N with N"
                    + " a GPU number");
        }
        throw new IllegalArgumentException("device '" + choice + "': expected auto, cpu, cuda "
                + "or cuda:N");
    }
}
