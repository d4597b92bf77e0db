package dev.lumbar.bench;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.backend.cuda.CudaBackend;
import dev.lumbar.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * The CUDA backend's kernels on the shapes the backbones and the head really use, each rated
 * against a ceiling measured in the same run on the same device: compute-bound kernels in
 * GFLOP/s against a large cuBLAS GEMM through the backend (in its precision), memory-bound
 * ones in GB/s against a device-to-device copy. The GPU half of the JMH kernel suite (which
 * needs a JDK the GPU machine does not have); times are CUDA event times on the stream.
 */
public final class GpuKernelRates {

    /** One kernel: what it computes on which shape, and its work in FLOPs or bytes. */
    record Case(String kernel, String shape, double flops, double bytes,
            Function<CudaBackend, Tensor> run) {
        boolean computeBound() {
            return flops > 0;
        }
    }

    /** The two ceilings, with what they were measured on. */
    public record Ceilings(double gemmFlopsPerSecond, String gemm, double copyBytesPerSecond,
            String copy) {
    }

    private final CudaBackend gpu;
    private final int repetitions;
    /** Inputs made for the cases, closed with {@link #close()}. */
    private final List<Tensor> inputs = new ArrayList<>();

    public GpuKernelRates(CudaBackend gpu, int repetitions) {
        this.gpu = gpu;
        this.repetitions = Math.max(1, repetitions);
    }

    /**
     * The ceilings: a square matmul of side {@code gemmSide} ({@code [1, n, n] × [1, n, n]}),
     * and a copy of {@code copyFloats} floats (read once, written once).
     */
    public Ceilings ceilings(int gemmSide, long copyFloats) {
        Tensor a = input(1, gemmSide, gemmSide);
        Tensor b = input(1, gemmSide, gemmSide);
        double gemmSeconds = seconds(backend -> backend.matmul(a, b));
        // what the copy moves does not matter: left as the allocator hands it out
        Tensor x = gpu.allocate(copyFloats);
        inputs.add(x);
        double copySeconds = seconds(backend -> backend.copy(x));
        return new Ceilings(2.0 * gemmSide * gemmSide * gemmSide / gemmSeconds,
                "matmul " + gemmSide + "³", 2.0 * copyFloats * Float.BYTES / copySeconds,
                "copy of " + size(copyFloats * Float.BYTES));
    }

    /**
     * The kernels at the sizes of a bag of 25 slices of 128 × 128 (or 5 of 224 × 224), as in
     * {@code bench/README.md}'s CPU suite; {@code batch} is the backbone cases' first dimension
     * (1 keeps a simulated device quick). The head's case is one study's bags.
     */
    List<Case> cases(int batch) {
        List<Case> cases = new ArrayList<>();
        conv(cases, "conv 3x3 + SiLU", batch, 48, 32, 192, 3, 1, 1, Activation.SILU);
        conv(cases, "conv 3x3/2 + SiLU", batch, 24, 64, 96, 3, 2, 1, Activation.SILU);
        conv(cases, "conv 1x1 + SiLU", batch, 256, 4, 1536, 1, 1, 1, Activation.SILU);
        conv(cases, "conv 1x1", batch, 960, 8, 160, 1, 1, 1, Activation.IDENTITY);
        conv(cases, "depthwise 3x3 + SiLU", batch, 960, 8, 960, 3, 1, 960, Activation.SILU);
        conv(cases, "depthwise 7x7", batch, 96, 32, 96, 7, 1, 96, Activation.IDENTITY);

        // the ConvNeXt channel MLP's first linear, over every pixel of a stage-1 map
        long tokens = (long) batch * 32 * 32;
        Tensor x = input(tokens, 96);
        Tensor w = input(384, 96);
        Tensor bias = input(384);
        cases.add(new Case("linear + GELU", shape(tokens, 96) + " -> 384",
                2.0 * tokens * 96 * 384, 0, g -> g.linear(x, w, bias, Activation.GELU)));

        Tensor map = input(batch, 96, 32, 32);
        Tensor gamma = input(96);
        Tensor beta = input(96);
        double mapBytes = 2.0 * map.byteSize();
        cases.add(new Case("layerNorm2d", shape(map.shape()), 0, mapBytes,
                g -> g.layerNormChannels(map, gamma, beta, 1e-6f)));
        Tensor wide = input(batch, 384, 32, 32);
        for (Activation act : List.of(Activation.GELU, Activation.SILU)) {
            cases.add(new Case(act.name().toLowerCase(Locale.ROOT), shape(wide.shape()), 0,
                    2.0 * wide.byteSize(), g -> g.activate(wide, act)));
        }

        Tensor expanded = input(batch, 960, 8, 8);
        Tensor reduceW = input(40, 960);
        Tensor reduceB = input(40);
        Tensor expandW = input(960, 40);
        Tensor expandB = input(960);
        cases.add(new Case("squeeze-excite", shape(expanded.shape()), 0,
                2.0 * expanded.byteSize(), g -> g.squeezeExcite(expanded, reduceW, reduceB,
                        expandW, expandB, Activation.SILU)));

        // the head: attention pooling over one study's 25 bags (targets) of 5 slices each,
        // whatever the batch of the cases above
        Tensor bags = input(25, 5, 512);
        Tensor attention = input(512);
        Tensor attentionBias = input(1);
        cases.add(new Case("attention pooling", shape(bags.shape()), 0, bags.byteSize(),
                g -> {
                    CudaBackend.AttentionPooled pooled = g.attentionPool(bags, attention,
                            attentionBias);
                    pooled.attention().close();
                    return pooled.pooled();
                }));
        return cases;
    }

    /** Times every case and rates it against the ceilings: a Markdown table. */
    public String table(Ceilings ceilings, int batch) {
        StringBuilder out = new StringBuilder();
        out.append(String.format("| kernel | shape | GPU ms | rate | of ceiling |%n"));
        out.append(String.format("|---|---|---:|---:|---:|%n"));
        out.append(String.format(Locale.ROOT, "| ceiling: %s (cuBLAS) | | | %.1f GFLOP/s "
                + "| 100%% |%n", ceilings.gemm(), ceilings.gemmFlopsPerSecond() / 1e9));
        out.append(String.format(Locale.ROOT, "| ceiling: %s (device to device) | | | "
                + "%.1f GB/s | 100%% |%n", ceilings.copy(), ceilings.copyBytesPerSecond() / 1e9));
        for (Case c : cases(batch)) {
            double seconds = seconds(c.run());
            String rate;
            double share;
            if (c.computeBound()) {
                rate = String.format(Locale.ROOT, "%.1f GFLOP/s", c.flops() / seconds / 1e9);
                share = c.flops() / seconds / ceilings.gemmFlopsPerSecond();
            } else {
                rate = String.format(Locale.ROOT, "%.1f GB/s", c.bytes() / seconds / 1e9);
                share = c.bytes() / seconds / ceilings.copyBytesPerSecond();
            }
            out.append(String.format(Locale.ROOT, "| %s | %s | %.4f | %s | %.0f%% |%n",
                    c.kernel(), c.shape(), seconds * 1e3, rate, 100 * share));
        }
        return out.toString();
    }

    /** Frees the inputs the ceilings and cases made. */
    public void close() {
        inputs.forEach(Tensor::close);
        inputs.clear();
    }

    /** Seconds a run takes on the device: one warm-up, then the mean of the timed runs. */
    private double seconds(Function<CudaBackend, Tensor> run) {
        run.apply(gpu).close();
        float millis = gpu.timeMillis(() -> {
            for (int i = 0; i < repetitions; i++) {
                run.apply(gpu).close();
            }
        });
        return millis / 1e3 / repetitions;
    }

    private void conv(List<Case> cases, String kernel, int batch, int c, int size, int o, int k,
            int stride, int groups, Activation act) {
        Tensor x = input(batch, c, size, size);
        Tensor w = input(o, c / groups, k, k);
        Tensor b = input(o);
        Conv2dSpec spec = Conv2dSpec.symmetric(stride, k / 2, 1, groups);
        long out = (size + 2L * (k / 2) - k) / stride + 1;
        double outputs = (double) batch * o * out * out;
        double flops = groups == 1 ? 2.0 * outputs * c * k * k : 0;
        // depthwise: memory-bound, rated by what it reads and writes
        double bytes = groups == 1 ? 0 : (x.numel() + outputs) * Float.BYTES;
        cases.add(new Case(kernel, shape(x.shape()) + " -> " + o, flops, bytes,
                g -> g.conv2d(x, w, b, spec, act)));
    }

    /** A device tensor of uniform values in [-1, 1), each input from a seed of its own. */
    private Tensor input(long... shape) {
        try (Tensor host = Shapes.random(inputs.size() + 17L, shape)) {
            Tensor device = gpu.upload(host);
            inputs.add(device);
            return device;
        }
    }

    private static String size(long bytes) {
        if (bytes >= 1L << 30 && bytes % (1L << 30) == 0) {
            return (bytes >> 30) + " GiB";
        }
        return bytes >= 1 << 20 ? (bytes >> 20) + " MiB" : (bytes >> 10) + " KiB";
    }

    private static String shape(long... dims) {
        return java.util.Arrays.toString(dims);
    }
}
