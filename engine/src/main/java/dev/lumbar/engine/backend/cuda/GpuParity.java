package dev.lumbar.engine.backend.cuda;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.backend.GatedActivations;
import dev.lumbar.engine.tensor.DType;
import dev.lumbar.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Runs every operation on the GPU and on a reference backend (the CPU) with the same random
 * inputs, and reports the error and the time of each. Used by the GPU tests and by the
 * stand-alone GPU check; the shapes are those of ConvNeXt and EfficientNet stages at small
 * batch.
 *
 * <p>Error is normwise: {@code max |gpu − ref| / max |ref|}, so a few tiny reference values do
 * not dominate. The seed is printed with the results so that a failure can be replayed.
 */
public final class GpuParity {

    /** One compared operation. */
    public record Result(String operation, String shape, double relativeError,
            double tolerance, double referenceMillis, double gpuMillis) {

        public boolean passed() {
            return relativeError <= tolerance;
        }
    }

    private final CudaBackend gpu;
    private final Backend reference;
    private final long seed;
    private final double tolerance;
    private final int repetitions;
    private final List<Result> results = new ArrayList<>();

    /**
     * @param repetitions timed runs of each GPU operation after one warm-up (its mean is
     *                    reported); the reference runs once (for the graph check, the
     *                    reference column is the step-by-step GPU time)
     */
    public GpuParity(CudaBackend gpu, Backend reference, long seed, int repetitions) {
        this.gpu = gpu;
        this.reference = reference;
        this.seed = seed;
        this.repetitions = repetitions;
        this.tolerance = switch (gpu.options().precision()) {
            case F32 -> 1e-4;
            default -> 1e-2;
        };
    }

    public long seed() {
        return seed;
    }

    /** Compares every {@code Backend} operation; returns the results so far. */
    public List<Result> runAll() {
        Random random = new Random(seed);
        Conv2dSpec same3 = Conv2dSpec.symmetric(1, 1, 1, 1);
        conv("conv3x3+bias+gelu", random, 2, 32, 28, 28, 64, 3, same3, Activation.GELU, true);
        conv("conv1x1", random, 2, 96, 14, 14, 384, 1, Conv2dSpec.symmetric(1, 0, 1, 1),
                Activation.IDENTITY, true);
        conv("stem4x4/4", random, 2, 3, 64, 64, 96, 4, Conv2dSpec.symmetric(4, 0, 1, 1),
                Activation.IDENTITY, true);
        conv("dwconv7x7", random, 2, 96, 28, 28, 96, 7, Conv2dSpec.symmetric(1, 3, 1, 96),
                Activation.IDENTITY, true);
        conv("tf-same3x3/2+silu", random, 2, 24, 33, 33, 48, 3,
                new Conv2dSpec(2, 2, 0, 1, 0, 1, 1, 1, 1), Activation.SILU, true);
        conv("dwconv5x5/2 tf-same", random, 1, 40, 30, 30, 40, 5,
                new Conv2dSpec(2, 2, 1, 2, 1, 2, 1, 1, 40), Activation.SILU, false);

        long[] tokens = {2, 49, 96};
        Tensor x = randomTensor(random, tokens);
        Tensor w = randomTensor(random, 384, 96);
        Tensor b = randomTensor(random, 384);
        compare("linear+gelu", tokens, List.of(x, w, b), (be, t) -> be.linear(t.get(0),
                t.get(1), t.get(2), Activation.GELU));
        Tensor a3 = randomTensor(random, 4, 64, 32);
        Tensor b3 = randomTensor(random, 4, 32, 48);
        compare("matmul", a3.shape(), List.of(a3, b3), (be, t) -> be.matmul(t.get(0), t.get(1)));

        if (gpu.options().precision() == CudaOptions.Precision.F32) {
            pointwise(random);
        }
        return List.copyOf(results);
    }

    /**
     * Compares the operations only the GPU backend has (attention pooling, the ROI sampler,
     * layout and storage-type conversions) with plain Java twins written from their
     * specification in the kernel sources.
     */
    public List<Result> runGpuOnly() {
        Random random = new Random(seed ^ 0x5eed);

        // attention pooling over a bag of 15 instances
        int bags = 3;
        int instances = 15;
        int dim = 96;
        Tensor h = randomTensor(random, bags, instances, dim);
        Tensor w = randomTensor(random, dim);
        Tensor b = randomTensor(random, 1);
        float[][] expected = attentionReference(h.toFloatArray(), w.toFloatArray(),
                b.getFloat(0), bags, instances, dim);
        try (Tensor hd = gpu.upload(h); Tensor wd = gpu.upload(w); Tensor bd = gpu.upload(b)) {
            long start = System.nanoTime();
            try (CudaBackend.AttentionPooled pooled = gpu.attentionPool(hd, wd, bd);
                    Tensor z = gpu.download(pooled.pooled());
                    Tensor alpha = gpu.download(pooled.attention())) {
                double millis = (System.nanoTime() - start) / 1e6;
                results.add(new Result("attentionPool z", java.util.Arrays.toString(h.shape()),
                        relativeError(z.toFloatArray(), expected[0]), 1e-4, 0, millis));
                results.add(new Result("attentionPool alpha",
                        java.util.Arrays.toString(h.shape()),
                        relativeError(alpha.toFloatArray(), expected[1]), 1e-4, 0, millis));
            }
        }

        // ROI sampler: two series, three targets (rotated, mirrored, near the edge)
        int depth = 12;
        int height = 64;
        int width = 80;
        Tensor volumes = randomTensor(random, 2 * depth * height * width);
        List<CudaBackend.RoiTarget> targets = List.of(
                new CudaBackend.RoiTarget(0, depth, height, width, 5, 40.3f, 30.7f, 16f, 12f,
                        0.3f),
                new CudaBackend.RoiTarget((long) depth * height * width, depth, height, width,
                        1, 20f, 50f, -10f, 10f, -0.2f),
                new CudaBackend.RoiTarget(0, depth, height, width, 11, 2f, 3f, 20f, 20f, 0f));
        int sliceCount = 5;
        int outSize = 32;
        for (int mode = 0; mode <= 2; mode++) {
            float[] want = roiReference(volumes.toFloatArray(), targets, sliceCount, 1,
                    outSize, outSize, mode);
            try (Tensor vd = gpu.upload(volumes)) {
                long start = System.nanoTime();
                try (Tensor bag = gpu.sampleRois(vd, targets, sliceCount, 1, outSize, outSize,
                        mode); Tensor host = gpu.download(bag)) {
                    results.add(new Result("roiSample norm=" + mode, "[3, 5, 32, 32]",
                            relativeError(host.toFloatArray(), want), 1e-4, 0,
                            (System.nanoTime() - start) / 1e6));
                }
            }
        }

        // layout round trip and storage types
        Tensor map = randomTensor(random, 2, 24, 7, 9);
        try (Tensor md = gpu.upload(map); Tensor nhwc = gpu.nchwToNhwc(md);
                Tensor nhwcHost = gpu.download(nhwc); Tensor back = gpu.nhwcToNchw(nhwc);
                Tensor backHost = gpu.download(back)) {
            results.add(new Result("nchw->nhwc", "[2, 24, 7, 9]", relativeError(
                    nhwcHost.toFloatArray(), nhwcReference(map.toFloatArray(), 2, 24, 63)),
                    0, 0, 0));
            results.add(new Result("nhwc->nchw", "[2, 24, 7, 9]",
                    relativeError(backHost.toFloatArray(), map.toFloatArray()), 0, 0, 0));
        }
        for (DType storage : List.of(DType.F16, DType.BF16)) {
            try (Tensor md = gpu.upload(map); Tensor narrow = gpu.convert(md, storage);
                    Tensor wide = gpu.convert(narrow, DType.F32);
                    Tensor host = gpu.download(wide)) {
                float[] source = map.toFloatArray();
                float[] want = new float[source.length];
                for (int i = 0; i < source.length; i++) {
                    want[i] = storage == DType.F16
                            ? Float.float16ToFloat(Float.floatToFloat16(source[i]))
                            : bf16RoundTrip(source[i]);
                }
                results.add(new Result("f32->" + storage + "->f32", "[2, 24, 7, 9]",
                        relativeError(host.toFloatArray(), want), 0, 0, 0));
            }
        }
        return List.copyOf(results);
    }

    /**
     * Captures a small network (conv, LayerNorm2d, GELU, pooling, linear) as a CUDA graph and
     * checks that replaying it on new input gives what running it step by step gives; reports
     * the time of both.
     */
    public List<Result> runGraphCheck() {
        Random random = new Random(seed ^ 0x62a9);
        Tensor convWeight = randomTensor(random, 64, 32, 3, 3);
        Tensor convBias = randomTensor(random, 64);
        Tensor gamma = randomTensor(random, 64);
        Tensor beta = randomTensor(random, 64);
        Tensor fcWeight = randomTensor(random, 10, 64);
        Tensor fcBias = randomTensor(random, 10);
        Tensor first = randomTensor(random, 4, 32, 28, 28);
        Tensor second = randomTensor(random, 4, 32, 28, 28);
        try (Tensor cw = gpu.upload(convWeight); Tensor cb = gpu.upload(convBias);
                Tensor g = gpu.upload(gamma); Tensor b = gpu.upload(beta);
                Tensor fw = gpu.upload(fcWeight); Tensor fb = gpu.upload(fcBias);
                Tensor input = gpu.upload(first)) {
            java.util.function.UnaryOperator<Tensor> network = x -> {
                try (Tensor conv = gpu.conv2d(x, cw, cb, Conv2dSpec.symmetric(1, 1, 1, 1),
                        Activation.IDENTITY);
                        Tensor norm = gpu.layerNormChannels(conv, g, b, 1e-6f);
                        Tensor act = gpu.activate(norm, Activation.GELU);
                        Tensor pooled = gpu.globalAvgPool(act)) {
                    return gpu.linear(pooled, fw, fb, Activation.IDENTITY);
                }
            };

            // step by step on the second input (also the warm-up the capture needs)
            float[] expected;
            try (Tensor x = gpu.upload(second); Tensor y = network.apply(x);
                    Tensor host = gpu.download(y)) {
                expected = host.toFloatArray();
            }
            float eagerTotal = gpu.timeMillis(() -> {
                for (int i = 0; i < repetitions; i++) {
                    network.apply(input).close();
                }
            });

            // captured once, replayed on the second input
            try (CudaBackend.CapturedForward captured = gpu.capture(input, network)) {
                gpu.copyInto(captured.input(), second);
                captured.run();
                float[] replayed;
                try (Tensor host = gpu.download(captured.output())) {
                    replayed = host.toFloatArray();
                }
                float graphTotal = gpu.timeMillis(() -> {
                    for (int i = 0; i < repetitions; i++) {
                        captured.run();
                    }
                });
                int reps = Math.max(1, repetitions);
                results.add(new Result("graph replay vs eager", "[4, 32, 28, 28]",
                        relativeError(replayed, expected), 1e-6, eagerTotal / reps,
                        graphTotal / reps));
            }
        }
        return List.copyOf(results);
    }

    /**
     * A whole timm encoder with random weights (BatchNorm variances 1) on both backends: the
     * pooled features compared, the GPU forward timed step by step and, captured as a CUDA
     * graph, replayed.
     *
     * @param config architecture overrides as a model card's {@code backbone.config} holds
     *               them (empty for the registered network)
     */
    public List<Result> runBackbone(String arch, java.util.Map<String, Object> config,
            int batch, int size) {
        String shape = java.util.Arrays.toString(new long[] {batch, 3, size, size});
        Random random = new Random(seed ^ arch.hashCode());
        java.util.Map<String, Tensor> weights = new java.util.HashMap<>();
        try (dev.lumbar.engine.model.backbone.Backbone onCpu =
                        dev.lumbar.engine.model.backbone.Backbones.create(arch, 3, 0, config);
                dev.lumbar.engine.model.backbone.Backbone onGpu =
                        dev.lumbar.engine.model.backbone.Backbones.create(arch, 3, 0, config);
                Tensor images = randomTensor(random, batch, 3, size, size)) {
            onCpu.expectedTensors().forEach((name, dims) -> {
                Tensor t = randomTensor(random, dims);
                for (long i = 0; i < t.numel(); i++) {
                    t.setFloat(i, name.endsWith(".running_var") ? 1f : t.getFloat(i) * 0.02f);
                }
                weights.put(name, t);
            });
            onCpu.load(weights::get, reference);
            onGpu.load(weights::get, gpu);

            // the reference, once
            long start = System.nanoTime();
            float[] expected;
            Tensor refInput = reference.upload(images);
            try (Tensor features = onCpu.forward(reference, refInput);
                    Tensor host = reference.download(features)) {
                expected = host.toFloatArray();
            } finally {
                if (refInput != images) {
                    refInput.close();
                }
            }
            double referenceMillis = (System.nanoTime() - start) / 1e6;

            // the gpu, step by step: a warm-up that also makes the plans, then timed runs
            try (Tensor input = gpu.upload(images)) {
                float[] actual;
                try (Tensor features = onGpu.forward(gpu, input);
                        Tensor host = gpu.download(features)) {
                    actual = host.toFloatArray();
                }
                int reps = Math.max(1, repetitions);
                float eager = gpu.timeMillis(() -> {
                    for (int i = 0; i < reps; i++) {
                        onGpu.forward(gpu, input).close();
                    }
                }) / reps;
                results.add(new Result(arch + " forward", shape,
                        relativeError(actual, expected), tolerance, referenceMillis, eager));

                // the same forward as one CUDA graph
                try (CudaBackend.CapturedForward graph = gpu.capture(input,
                        x -> onGpu.forward(gpu, x))) {
                    graph.run();
                    float[] replayed;
                    try (Tensor host = gpu.download(graph.output())) {
                        replayed = host.toFloatArray();
                    }
                    float replay = gpu.timeMillis(() -> {
                        for (int i = 0; i < reps; i++) {
                            graph.run();
                        }
                    }) / reps;
                    results.add(new Result(arch + " graph", shape,
                            relativeError(replayed, actual), 1e-6, eager, replay));
                } catch (RuntimeException e) {
                    results.add(new Result(arch + " graph: " + e.getMessage(), shape,
                            Double.POSITIVE_INFINITY, 1e-6, eager, Double.NaN));
                }
            }
        } finally {
            weights.values().forEach(Tensor::close);
        }
        return List.copyOf(results);
    }

    /** Round to nearest even into BF16 and back, as torch's {@code .bfloat16()}. */
    static float bf16RoundTrip(float value) {
        int bits = Float.floatToRawIntBits(value);
        int rounded = bits + 0x7FFF + ((bits >>> 16) & 1);
        return Float.intBitsToFloat(rounded & 0xFFFF0000);
    }

    static float[][] attentionReference(float[] h, float[] w, float bias, int bags,
            int instances, int dim) {
        float[] z = new float[bags * dim];
        float[] alpha = new float[bags * instances];
        for (int bag = 0; bag < bags; bag++) {
            double[] logits = new double[instances];
            double max = Double.NEGATIVE_INFINITY;
            for (int s = 0; s < instances; s++) {
                double acc = bias;
                for (int d = 0; d < dim; d++) {
                    acc += w[d] * Math.tanh(h[(bag * instances + s) * dim + d]);
                }
                logits[s] = acc;
                max = Math.max(max, acc);
            }
            double sum = 0;
            for (int s = 0; s < instances; s++) {
                logits[s] = Math.exp(logits[s] - max);
                sum += logits[s];
            }
            for (int s = 0; s < instances; s++) {
                alpha[bag * instances + s] = (float) (logits[s] / sum);
            }
            for (int d = 0; d < dim; d++) {
                double acc = 0;
                for (int s = 0; s < instances; s++) {
                    acc += logits[s] / sum * h[(bag * instances + s) * dim + d];
                }
                z[bag * dim + d] = (float) acc;
            }
        }
        return new float[][] {z, alpha};
    }

    /** The ROI sampler's specification (roi_sampler.cuh) written out in Java. */
    static float[] roiReference(float[] volumes, List<CudaBackend.RoiTarget> targets,
            int instances, int step, int outH, int outW, int mode) {
        float[] out = new float[targets.size() * instances * outH * outW];
        int k = 0;
        for (CudaBackend.RoiTarget t : targets) {
            for (int s = 0; s < instances; s++) {
                int z = Math.clamp(t.centreSlice() + (s - instances / 2) * step, 0,
                        t.depth() - 1);
                long slice = t.volumeOffset() + (long) z * t.height() * t.width();
                int first = k;
                for (int i = 0; i < outH; i++) {
                    for (int j = 0; j < outW; j++) {
                        double u = ((j + 0.5) / outW * 2 - 1) * t.halfWidth();
                        double v = ((i + 0.5) / outH * 2 - 1) * t.halfHeight();
                        double x = t.centreX() + u * Math.cos(t.angle())
                                - v * Math.sin(t.angle()) - 0.5;
                        double y = t.centreY() + u * Math.sin(t.angle())
                                + v * Math.cos(t.angle()) - 0.5;
                        int x0 = (int) Math.floor(x);
                        int y0 = (int) Math.floor(y);
                        double fx = x - x0;
                        double fy = y - y0;
                        double top = pixel(volumes, slice, t, y0, x0) * (1 - fx)
                                + pixel(volumes, slice, t, y0, x0 + 1) * fx;
                        double bottom = pixel(volumes, slice, t, y0 + 1, x0) * (1 - fx)
                                + pixel(volumes, slice, t, y0 + 1, x0 + 1) * fx;
                        out[k++] = (float) (top * (1 - fy) + bottom * fy);
                    }
                }
                normalise(out, first, k, mode);
            }
        }
        return out;
    }

    private static double pixel(float[] volumes, long slice, CudaBackend.RoiTarget t, int r,
            int c) {
        if (r < 0 || r >= t.height() || c < 0 || c >= t.width()) {
            return 0;
        }
        return volumes[(int) (slice + (long) r * t.width() + c)];
    }

    private static void normalise(float[] image, int from, int to, int mode) {
        if (mode == 1) {
            float lo = Float.POSITIVE_INFINITY;
            float hi = Float.NEGATIVE_INFINITY;
            for (int i = from; i < to; i++) {
                lo = Math.min(lo, image[i]);
                hi = Math.max(hi, image[i]);
            }
            float range = hi - lo;
            for (int i = from; i < to; i++) {
                image[i] = range > 0 ? (image[i] - lo) / range : 0;
            }
        } else if (mode == 2) {
            double sum = 0;
            for (int i = from; i < to; i++) {
                sum += image[i];
            }
            double mean = sum / (to - from);
            double sq = 0;
            for (int i = from; i < to; i++) {
                sq += (image[i] - mean) * (image[i] - mean);
            }
            double std = Math.sqrt(sq / (to - from));
            for (int i = from; i < to; i++) {
                image[i] = (float) ((image[i] - mean) / (std + 1e-6));
            }
        }
    }

    static float[] nhwcReference(float[] nchw, int n, int c, int hw) {
        float[] out = new float[nchw.length];
        for (int image = 0; image < n; image++) {
            for (int ch = 0; ch < c; ch++) {
                for (int p = 0; p < hw; p++) {
                    out[(image * hw + p) * c + ch] = nchw[(image * c + ch) * hw + p];
                }
            }
        }
        return out;
    }

    private void pointwise(Random random) {
        Tensor tokens = randomTensor(random, 2, 49, 96);
        Tensor gamma = randomTensor(random, 96);
        Tensor beta = randomTensor(random, 96);
        compare("layerNorm(last)", tokens.shape(), List.of(tokens, gamma, beta),
                (be, t) -> be.layerNormLastDim(t.get(0), t.get(1), t.get(2), 1e-6f));
        Tensor map = randomTensor(random, 2, 96, 14, 14);
        compare("layerNorm2d", map.shape(), List.of(map, gamma, beta),
                (be, t) -> be.layerNormChannels(t.get(0), t.get(1), t.get(2), 1e-6f));
        for (Activation act : Activation.values()) {
            compare("activate " + act.name().toLowerCase(java.util.Locale.ROOT), map.shape(),
                    List.of(map), (be, t) -> be.activate(t.get(0), act));
        }
        Tensor other = randomTensor(random, 2, 96, 14, 14);
        compare("add", map.shape(), List.of(map, other), (be, t) -> be.add(t.get(0), t.get(1)));
        compare("scaleChannels+residual", map.shape(), List.of(map, gamma, other),
                (be, t) -> be.scaleChannels(t.get(0), t.get(1), t.get(2)));
        Tensor gate = randomTensor(random, 2, 96);
        compare("scaleChannels[N,C]", map.shape(), List.of(map, gate),
                (be, t) -> be.scaleChannels(t.get(0), t.get(1), null));
        Tensor reduceW = randomTensor(random, 24, 96, 1, 1);
        Tensor reduceB = randomTensor(random, 24);
        Tensor expandW = randomTensor(random, 96, 24, 1, 1);
        Tensor expandB = randomTensor(random, 96);
        compare("squeezeExcite", map.shape(), List.of(map, reduceW, reduceB, expandW, expandB),
                (be, t) -> be.squeezeExcite(t.get(0), t.get(1), t.get(2), t.get(3), t.get(4),
                        Activation.SILU));
        // the CPU backend pools a depthwise output as it writes it
        Tensor depthwise = randomTensor(random, 96, 1, 3, 3);
        compare("depthwise+squeezeExcite gate", map.shape(),
                List.of(map, depthwise, reduceW, reduceB, expandW, expandB),
                (be, t) -> gateOnly(be.conv2dWithGate(t.get(0), t.get(1), null,
                        Conv2dSpec.symmetric(1, 1, 1, 96), Activation.SILU, t.get(2), t.get(3),
                        t.get(4), t.get(5), Activation.SILU)));
        compare("globalAvgPool", map.shape(), List.of(map), (be, t) -> be.globalAvgPool(t.get(0)));
        compare("globalMaxPool", map.shape(), List.of(map), (be, t) -> be.globalMaxPool(t.get(0)));
        Tensor logits = randomTensor(random, 8, 25);
        compare("softmax", logits.shape(), List.of(logits), (be, t) -> be.softmax(t.get(0)));
    }

    private void conv(String name, Random random, int n, int c, int h, int w, int o, int k,
            Conv2dSpec spec, Activation act, boolean withBias) {
        Tensor x = randomTensor(random, n, c, h, w);
        Tensor weight = randomTensor(random, o, c / spec.groups(), k, k);
        Tensor bias = withBias ? randomTensor(random, o) : null;
        List<Tensor> inputs = new ArrayList<>(List.of(x, weight));
        if (bias != null) {
            inputs.add(bias);
        }
        compare(name, x.shape(), inputs, (be, t) -> be.conv2d(t.get(0), t.get(1),
                t.size() > 2 ? t.get(2) : null, spec, act));
    }

    /** The gate of a convolution with its gate, the convolution's output closed. */
    private static Tensor gateOnly(GatedActivations both) {
        both.activations().close();
        return both.gate();
    }

    /** An operation on a backend, given its inputs on that backend. */
    private interface Operation {
        Tensor apply(Backend backend, List<Tensor> inputs);
    }

    private void compare(String name, long[] shape, List<Tensor> hostInputs,
            Operation operation) {
        // reference
        long start = System.nanoTime();
        float[] expected;
        List<Tensor> refInputs = uploadAll(reference, hostInputs);
        try (Tensor refOut = operation.apply(reference, refInputs);
                Tensor refHost = reference.download(refOut)) {
            expected = refHost.toFloatArray();
        } finally {
            closeUploaded(refInputs, hostInputs);
        }
        double referenceMillis = (System.nanoTime() - start) / 1e6;

        // gpu: one warm-up run (plans, algorithm choice), then timed runs
        List<Tensor> gpuInputs = uploadAll(gpu, hostInputs);
        float[] actual;
        double gpuMillis;
        try {
            Tensor first = operation.apply(gpu, gpuInputs);
            try (Tensor host = gpu.download(first)) {
                actual = host.toFloatArray();
            } finally {
                first.close();
            }
            float total = gpu.timeMillis(() -> {
                for (int i = 0; i < repetitions; i++) {
                    operation.apply(gpu, gpuInputs).close();
                }
            });
            gpuMillis = total / Math.max(1, repetitions);
        } finally {
            closeUploaded(gpuInputs, hostInputs);
        }
        results.add(new Result(name, java.util.Arrays.toString(shape),
                relativeError(actual, expected), tolerance, referenceMillis, gpuMillis));
    }

    private static List<Tensor> uploadAll(Backend backend, List<Tensor> host) {
        List<Tensor> out = new ArrayList<>();
        for (Tensor t : host) {
            out.add(backend.upload(t));
        }
        return out;
    }

    private static void closeUploaded(List<Tensor> uploaded, List<Tensor> host) {
        for (int i = 0; i < uploaded.size(); i++) {
            if (uploaded.get(i) != host.get(i)) {
                uploaded.get(i).close();
            }
        }
    }

    /** {@code max |a − b| / max |b|}; 0 for two empty arrays. */
    public static double relativeError(float[] actual, float[] expected) {
        if (actual.length != expected.length) {
            return Double.POSITIVE_INFINITY;
        }
        double maxDiff = 0;
        double maxRef = 0;
        for (int i = 0; i < expected.length; i++) {
            if (Float.isNaN(actual[i]) != Float.isNaN(expected[i])) {
                return Double.POSITIVE_INFINITY;
            }
            maxDiff = Math.max(maxDiff, Math.abs((double) actual[i] - expected[i]));
            maxRef = Math.max(maxRef, Math.abs((double) expected[i]));
        }
        return maxRef == 0 ? maxDiff : maxDiff / maxRef;
    }

    static Tensor randomTensor(Random random, long... shape) {
        Tensor t = Tensor.allocate(DType.F32, shape);
        for (long i = 0; i < t.numel(); i++) {
            t.setFloat(i, (float) random.nextGaussian());
        }
        return t;
    }

    /** A table of the results, one line per operation, and a count of those within tolerance. */
    public static String table(List<Result> results, String title) {
        StringBuilder out = new StringBuilder(title).append('\n');
        out.append(String.format("%-26s %-18s %10s %8s %10s %10s  %s%n", "operation", "shape",
                "rel.err", "tol", "ref ms", "gpu ms", "ok"));
        int passed = 0;
        for (Result r : results) {
            out.append(String.format("%-26s %-18s %10.2e %8.0e %10.3f %10.4f  %s%n",
                    r.operation(), r.shape(), r.relativeError(), r.tolerance(),
                    r.referenceMillis(), r.gpuMillis(), r.passed() ? "ok" : "FAIL"));
            passed += r.passed() ? 1 : 0;
        }
        out.append(passed).append(" of ").append(results.size())
                .append(" comparisons within tolerance\n");
        return out.toString();
    }
}
