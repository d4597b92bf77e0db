package dev.lumbar.bench;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.backend.GatedActivations;
import dev.lumbar.engine.backend.InvertedResidual;
import dev.lumbar.engine.tensor.Device;
import dev.lumbar.engine.tensor.Tensor;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * A backend that forwards every call to another one and keeps, per kind of operation, the number
 * of calls, the wall time spent in them and the floating-point operations they stand for.
 *
 * <p>FLOPs are counted analytically from the shapes, as 2 × multiply-accumulates of the
 * convolutions, linears, matrix products and squeeze-excite's two 1×1 convolutions; bias,
 * activations, norms, pooling and elementwise work are not counted (the usual convention, so
 * the rate is comparable with published GFLOP figures). Wall times are meaningful because the
 * CPU backend returns only when an operation is done. Not thread-safe: one forward at a time.
 */
final class CountingBackend implements Backend {

    /** Calls, nanoseconds and FLOPs of one kind of operation. */
    static final class Tally {
        long calls;
        long nanos;
        double flops;
    }

    private final Backend inner;
    private final boolean byShape;
    /** The kind under which both normalized channel MLP calls are tallied. */
    private static final String NORMALIZED_MLP = "layer norm and channel MLP (1x1, 1x1)";
    private final Map<String, Tally> tallies = new LinkedHashMap<>();

    CountingBackend(Backend inner) {
        this(inner, false);
    }

    /**
     * With {@code byShape}, convolutions are tallied per input shape, output channels and stride
     * too: the kinds alone hide which layers of a network lag.
     */
    CountingBackend(Backend inner, boolean byShape) {
        this.inner = inner;
        this.byShape = byShape;
    }

    /** Per operation kind, in order of first use. */
    Map<String, Tally> tallies() {
        return tallies;
    }

    double totalFlops() {
        return tallies.values().stream().mapToDouble(t -> t.flops).sum();
    }

    void reset() {
        tallies.clear();
    }

    /**
     * One forward's tallies as a Markdown table, longest first; {@code where} says what the
     * times are of (the engine's backend calls, ONNX Runtime's nodes).
     */
    static void print(String where, Map<String, Tally> tallies) {
        print(where, tallies, 1);
    }

    /** The tallies of {@code forwards} forwards, as one forward's mean. */
    static void print(String where, Map<String, Tally> tallies, int forwards) {
        Map<String, Tally> perForward = new LinkedHashMap<>();
        tallies.forEach((kind, t) -> {
            Tally mean = new Tally();
            mean.calls = t.calls / forwards;
            mean.nanos = t.nanos / forwards;
            mean.flops = t.flops / forwards;
            perForward.put(kind, mean);
        });
        double total = perForward.values().stream().mapToLong(t -> t.nanos).sum();
        System.out.printf(Locale.ROOT, "profiled forward%s: %.3f s in %s%n",
                forwards == 1 ? "" : " (mean of " + forwards + ")", total / 1e9, where);
        System.out.println("| operation | calls | ms | share | GFLOP | GFLOP/s |");
        System.out.println("|---|---:|---:|---:|---:|---:|");
        perForward.entrySet().stream()
                .sorted((x, y) -> Long.compare(y.getValue().nanos, x.getValue().nanos))
                .forEach(e -> {
                    Tally t = e.getValue();
                    System.out.printf(Locale.ROOT, "| %s | %d | %.1f | %.1f%% | %.2f | %s |%n",
                            e.getKey(), t.calls, t.nanos / 1e6, 100 * t.nanos / total,
                            t.flops / 1e9, t.flops == 0 ? "" : String.format(Locale.ROOT,
                                    "%.1f", t.flops / t.nanos));
                });
    }

    private <T> T timed(String kind, double flops, Supplier<T> call) {
        long start = System.nanoTime();
        T result = call.get();
        Tally tally = tallies.computeIfAbsent(kind, k -> new Tally());
        tally.nanos += System.nanoTime() - start;
        tally.calls++;
        tally.flops += flops;
        return result;
    }

    /**
     * Convolutions are split by shape class, their kernels differ and so does their cost; and
     * by input shape, output channels and activation too where asked.
     */
    private String convKind(Tensor x, Tensor weight, Conv2dSpec spec, Activation act) {
        String kind = convClass(x, weight, spec);
        return !byShape ? kind : kind + " " + Arrays.toString(x.shape()) + " -> "
                + weight.dim(0) + (act == Activation.IDENTITY ? "" : " " + act);
    }

    private static String convClass(Tensor x, Tensor weight, Conv2dSpec spec) {
        boolean depthwise = spec.groups() > 1 && spec.groups() == x.dim(1)
                && weight.dim(1) == 1;
        return convClass(depthwise, weight.dim(2), weight.dim(3), spec.strideH() > 1);
    }

    /**
     * The class of a convolution by its kernel: depthwise, 1×1, or dense, with its size and
     * whether it is strided. {@link OrtProfile} classes ONNX Runtime's nodes by this too, so
     * the two profiles' kinds are the same words.
     */
    static String convClass(boolean depthwise, long kh, long kw, boolean strided) {
        if (depthwise) {
            return "conv depthwise " + kh + "x" + kw + (strided ? " strided" : "");
        }
        if (kh == 1 && kw == 1) {
            return "conv 1x1";
        }
        return "conv dense " + kh + "x" + kw + (strided ? " strided" : "");
    }

    @Override
    public String name() {
        return inner.name();
    }

    @Override
    public Device device() {
        return inner.device();
    }

    @Override
    public Tensor upload(Tensor host) {
        return inner.upload(host);
    }

    @Override
    public Tensor download(Tensor tensor) {
        return timed("download", 0, () -> inner.download(tensor));
    }

    @Override
    public Tensor conv2d(Tensor x, Tensor weight, Tensor bias, Conv2dSpec spec, Activation act) {
        return timed(convKind(x, weight, spec, act), convFlops(x, weight, spec),
                () -> inner.conv2d(x, weight, bias, spec, act));
    }

    /** 2 × MACs of a convolution: weight is [O, C/groups, kh, kw], C/groups·kh·kw per output. */
    private static double convFlops(Tensor x, Tensor weight, Conv2dSpec spec) {
        long kh = weight.dim(2);
        long kw = weight.dim(3);
        long outH = spec.outH(x.size(2), (int) kh);
        long outW = spec.outW(x.size(3), (int) kw);
        return 2.0 * x.dim(0) * weight.dim(0) * outH * outW * weight.dim(1) * kh * kw;
    }

    @Override
    public Tensor linear(Tensor x, Tensor weight, Tensor bias, Activation act) {
        double rows = (double) x.numel() / x.dim(x.rank() - 1);
        double macs = rows * weight.dim(0) * weight.dim(1);
        return timed("linear", 2 * macs, () -> inner.linear(x, weight, bias, act));
    }

    @Override
    public Tensor matmul(Tensor a, Tensor b) {
        double macs = (double) a.dim(0) * a.dim(1) * a.dim(2) * b.dim(2);
        return timed("matmul", 2 * macs, () -> inner.matmul(a, b));
    }

    @Override
    public Tensor layerNormLastDim(Tensor x, Tensor gamma, Tensor beta, float eps) {
        return timed("layer norm (last dim)", 0,
                () -> inner.layerNormLastDim(x, gamma, beta, eps));
    }

    @Override
    public Tensor layerNormChannels(Tensor x, Tensor gamma, Tensor beta, float eps) {
        return timed("layer norm (channels)", 0,
                () -> inner.layerNormChannels(x, gamma, beta, eps));
    }

    @Override
    public Tensor activate(Tensor x, Activation act) {
        return timed("activation", 0, () -> inner.activate(x, act));
    }

    @Override
    public Tensor add(Tensor a, Tensor b) {
        return timed("add", 0, () -> inner.add(a, b));
    }

    @Override
    public Tensor scaleChannels(Tensor x, Tensor scale, Tensor residual) {
        return timed("scale channels", 0, () -> inner.scaleChannels(x, scale, residual));
    }

    @Override
    public Tensor squeezeExcite(Tensor x, Tensor reduceWeight, Tensor reduceBias,
            Tensor expandWeight, Tensor expandBias, Activation act) {
        // two 1×1 convolutions on the pooled [N, C] vector: C·Cr MACs each
        double macs = 2.0 * x.dim(0) * reduceWeight.dim(0) * reduceWeight.dim(1);
        return timed("squeeze-excite", 2 * macs, () -> inner.squeezeExcite(x, reduceWeight,
                reduceBias, expandWeight, expandBias, act));
    }

    @Override
    public Tensor squeezeExciteGate(Tensor x, Tensor reduceWeight, Tensor reduceBias,
            Tensor expandWeight, Tensor expandBias, Activation act) {
        double macs = 2.0 * x.dim(0) * reduceWeight.dim(0) * reduceWeight.dim(1);
        return timed("squeeze-excite", 2 * macs, () -> inner.squeezeExciteGate(x,
                reduceWeight, reduceBias, expandWeight, expandBias, act));
    }

    @Override
    public GatedActivations conv2dWithGate(Tensor x, Tensor weight, Tensor bias,
            Conv2dSpec spec, Activation act, Tensor reduceWeight, Tensor reduceBias,
            Tensor expandWeight, Tensor expandBias, Activation gateAct) {
        double gateMacs = 2.0 * x.dim(0) * reduceWeight.dim(0) * reduceWeight.dim(1);
        return timed(convKind(x, weight, spec, act) + " + squeeze-excite",
                convFlops(x, weight, spec) + 2 * gateMacs,
                () -> inner.conv2dWithGate(x, weight, bias, spec, act, reduceWeight,
                        reduceBias, expandWeight, expandBias, gateAct));
    }

    @Override
    public Tensor gatedConv2d(Tensor x, Tensor gate, Tensor weight, Tensor bias,
            Conv2dSpec spec, Activation act) {
        return timed(convKind(x, weight, spec, act) + " gated", convFlops(x, weight, spec),
                () -> inner.gatedConv2d(x, gate, weight, bias, spec, act));
    }

    @Override
    public Tensor conv2dAdd(Tensor x, Tensor gate, Tensor weight, Tensor bias,
            Conv2dSpec spec, Activation act, Tensor residual) {
        return timed(convKind(x, weight, spec, act) + (gate == null ? "" : " gated")
                + " + residual", convFlops(x, weight, spec),
                () -> inner.conv2dAdd(x, gate, weight, bias, spec, act, residual));
    }

    /**
     * A fused-MBConv block is one entry (the backend may run its two convolutions as one
     * pass): the expansion's kind, then the projection's output channels.
     */
    @Override
    public Tensor edgeResidual(Tensor x, InvertedResidual.Conv expand,
            InvertedResidual.Conv project, Tensor residual) {
        Tensor w1 = expand.weight();
        Conv2dSpec spec = expand.spec();
        long hidden = w1.dim(0);
        double outPixels = (double) x.dim(0) * spec.outH(x.size(2), (int) w1.dim(2))
                * spec.outW(x.size(3), (int) w1.dim(3));
        double flops = convFlops(x, w1, spec)
                + 2.0 * outPixels * hidden * project.weight().dim(0);
        String kind = convKind(x, w1, spec, expand.act()) + ", 1x1"
                + (byShape ? " -> " + project.weight().dim(0) : "")
                + (residual == null ? "" : " + residual");
        return timed(kind, flops, () -> inner.edgeResidual(x, expand, project, residual));
    }

    /**
     * A whole inverted-residual block is one entry (the backend may run it fused): its
     * depthwise kernel, strided or not, and where asked its input shape and expanded channels.
     */
    @Override
    public Tensor invertedResidual(Tensor x, InvertedResidual block, Tensor residual) {
        Tensor expand = block.expand().weight();
        Tensor depthwise = block.depthwise().weight();
        Conv2dSpec spec = block.depthwise().spec();
        long hidden = expand.dim(0);
        long kh = depthwise.dim(2), kw = depthwise.dim(3);
        double outPixels = (double) x.dim(0) * spec.outH(x.size(2), (int) kh)
                * spec.outW(x.size(3), (int) kw);
        double macs = (double) x.dim(0) * x.dim(2) * x.dim(3) * hidden * x.dim(1)
                + outPixels * hidden * (kh * kw + block.project().weight().dim(0))
                + 2.0 * x.dim(0) * hidden * block.gate().reduceWeight().dim(0);
        String kind = "inverted residual (1x1, " + convClass(true, kh, kw, spec.strideH() > 1)
                .substring("conv ".length()) + ", squeeze-excite, 1x1)"
                + (residual == null ? "" : " + residual")
                + (byShape ? " " + Arrays.toString(x.shape()) + " -> " + hidden : "");
        return timed(kind, 2 * macs, () -> inner.invertedResidual(x, block, residual));
    }

    @Override
    public Tensor channelMlp(Tensor x, Tensor w1, Tensor b1, Activation act, Tensor w2,
            Tensor b2, Tensor scale, Tensor residual) {
        return timed(mlpKind("channel MLP (1x1, 1x1)", x, w1), mlpFlops(x, w1, w2),
                () -> inner.channelMlp(x, w1, b1, act, w2, b2, scale, residual));
    }

    @Override
    public Tensor normalizedChannelMlp(Tensor x, Tensor gamma, Tensor beta, float eps,
            Tensor w1, Tensor b1, Activation act, Tensor w2, Tensor b2, Tensor scale,
            Tensor residual) {
        return timed(mlpKind(NORMALIZED_MLP, x, w1), mlpFlops(x, w1, w2),
                () -> inner.normalizedChannelMlp(x, gamma, beta, eps, w1, b1, act, w2, b2,
                        scale, residual));
    }

    @Override
    public Tensor normalizedChannelMlpOver(Tensor x, Tensor gamma, Tensor beta, float eps,
            Tensor w1, Tensor b1, Activation act, Tensor w2, Tensor b2, Tensor scale,
            Tensor residual) {
        // tallied with normalizedChannelMlp: the same operation, its output elsewhere
        String kind;
        double flops;
        try {
            kind = mlpKind(NORMALIZED_MLP, x, w1);
            flops = mlpFlops(x, w1, w2);
        } catch (RuntimeException e) {
            // the residual was handed over, whether the call runs or not
            if (residual != null) {
                residual.close();
            }
            throw e;
        }
        return timed(kind, flops, () -> inner.normalizedChannelMlpOver(x, gamma, beta, eps,
                w1, b1, act, w2, b2, scale, residual));
    }

    /** A channel MLP's kind, with x's shape and the hidden width when tallied by shape. */
    private String mlpKind(String kind, Tensor x, Tensor w1) {
        return kind + (byShape ? " " + Arrays.toString(x.shape()) + " -> " + w1.dim(0) : "");
    }

    /** A channel MLP's two 1×1 convolutions: C·Ch then Ch·Co MACs per pixel, 2 FLOPs each. */
    private static double mlpFlops(Tensor x, Tensor w1, Tensor w2) {
        double pixels = (double) x.dim(0) * x.dim(2) * x.dim(3);
        return 2 * pixels * (w1.dim(0) * w1.dim(1) + w2.dim(0) * w2.dim(1));
    }

    @Override
    public Tensor globalAvgPool(Tensor x) {
        return timed("pool", 0, () -> inner.globalAvgPool(x));
    }

    @Override
    public Tensor globalMaxPool(Tensor x) {
        return timed("pool", 0, () -> inner.globalMaxPool(x));
    }

    @Override
    public Tensor softmax(Tensor x) {
        return timed("softmax", 0, () -> inner.softmax(x));
    }

    /** Leaves the wrapped backend open: its owner closes it. */
    @Override
    public void close() {
    }
}
