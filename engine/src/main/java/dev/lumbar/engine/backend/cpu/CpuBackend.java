package dev.lumbar.engine.backend.cpu;

import dev.lumbar.bindings.OpenBlas;
import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.backend.GatedActivations;
import dev.lumbar.engine.backend.InvertedResidual;
import dev.lumbar.engine.tensor.BufferPool;
import dev.lumbar.engine.tensor.DType;
import dev.lumbar.engine.tensor.Device;
import dev.lumbar.engine.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Collections;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.WeakHashMap;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * The CPU backend: NCHW F32 tensors in off-heap memory, kernels vectorised with the Vector API
 * and run on a fixed pool of worker threads. Matrix products go to OpenBLAS when the library is
 * found (and not switched off), else to the engine's own {@link JavaGemm}; 1×1 convolutions
 * over small images, channel MLPs and dense stride-1 convolutions always run on the engine's
 * own kernel ({@link PixelProducts}); inverted-residual blocks keep their expanded
 * activations channel-blocked between their layers where they fit ({@link InvertedResiduals}).
 *
 * <p>The system property {@value #GEMM_PROPERTY} ({@code auto}, {@code java} or
 * {@code openblas}) chooses the matrix product when the constructor is given
 * {@link GemmChoice#AUTO}. Operations may be called from several threads at once; they share
 * the worker pool.
 *
 * <p>Every operation's output comes uninitialised from the backend's {@link BufferPool} (at
 * most {@value #POOL_PROPERTY} bytes of idle buffers, 1 GiB unless set), so each kernel writes
 * every element of its output; closing an output returns its buffer for the next call.
 */
public final class CpuBackend implements Backend {

    /** Picks the matrix product: {@code auto}, {@code java} or {@code openblas}. */
    public static final String GEMM_PROPERTY = "lumbar.cpu.gemm";

    /** Which matrix product the backend uses. */
    public enum GemmChoice {
        /** OpenBLAS when found, else the engine's own (the system property can override). */
        AUTO,
        /** Always the engine's own Java GEMM. */
        JAVA,
        /** OpenBLAS, or fail when it cannot be loaded. */
        OPENBLAS
    }

    private static final System.Logger LOG = System.getLogger(CpuBackend.class.getName());
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat F32 =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    /** Elementwise loops are split into chunks of at least this many floats. */
    private static final long GRAIN = 1 << 14;

    /** Caps the idle output buffers the backend keeps for reuse, in bytes. */
    public static final String POOL_PROPERTY = "lumbar.cpu.pool.bytes";

    /** Idle output buffers kept by default: several forwards' worth of activations. */
    private static final long DEFAULT_POOL_BYTES = 1L << 30;

    private final WorkerPool workers;
    private final BufferPool outputs;
    private final Gemm gemm;
    private final Convolutions convolutions;
    private final String name;
    /**
     * The tensors this backend uploaded, compared by identity and dropped when collected:
     * the weights, whose packed forms the products keep.
     */
    private final Set<Tensor> uploaded =
            Collections.synchronizedSet(Collections.newSetFromMap(new WeakHashMap<>()));

    /** A backend with {@code threads} workers and the matrix product {@link GemmChoice#AUTO}. */
    public CpuBackend(int threads) {
        this(threads, GemmChoice.AUTO);
    }

    public CpuBackend(int threads, GemmChoice choice) {
        this.workers = new WorkerPool(threads);
        this.outputs = new BufferPool(poolBytes());
        this.gemm = chooseGemm(choice, threads, workers);
        this.convolutions = new Convolutions(workers, gemm);
        this.name = "cpu (" + gemm.describe() + ", " + threads
                + (threads == 1 ? " thread)" : " threads)");
        LOG.log(System.Logger.Level.INFO, "backend {0}", name);
    }

    /** The idle bytes the output pool keeps: {@value #POOL_PROPERTY}, or 1 GiB. */
    private static long poolBytes() {
        String text = System.getProperty(POOL_PROPERTY);
        if (text == null || text.isBlank()) {
            return DEFAULT_POOL_BYTES;
        }
        try {
            long bytes = Long.parseLong(text.strip());
            if (bytes >= 0) {
                return bytes;
            }
        } catch (NumberFormatException e) {
            // refused below, like a negative size
        }
        throw new IllegalArgumentException("system property " + POOL_PROPERTY + " is '" + text
                + "'; expected a number of bytes, 0 or more");
    }

    private static Gemm chooseGemm(GemmChoice choice, int threads, WorkerPool workers) {
        if (choice == GemmChoice.AUTO) {
            String property = System.getProperty(GEMM_PROPERTY, "auto").trim()
                    .toLowerCase(Locale.ROOT);
            choice = switch (property) {
                case "auto", "" -> GemmChoice.AUTO;
                case "java" -> GemmChoice.JAVA;
                case "openblas" -> GemmChoice.OPENBLAS;
                default -> throw new IllegalArgumentException("system property " + GEMM_PROPERTY
                        + " is '" + property + "'; expected auto, java or openblas");
            };
        }
        if (choice == GemmChoice.JAVA) {
            return new JavaGemm(workers);
        }
        Optional<OpenBlas> blas = OpenBlas.load();
        if (blas.isPresent()) {
            return new OpenBlasGemm(blas.get(), workers);
        }
        if (choice == GemmChoice.OPENBLAS) {
            throw new IllegalStateException("OpenBLAS was asked for but could not be loaded; "
                    + "install libopenblas0 or set " + OpenBlas.ENV_PATH + " to the library file");
        }
        return new JavaGemm(workers);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Device device() {
        return Device.CPU;
    }

    /** The number of worker threads. */
    public int threads() {
        return workers.threads();
    }

    @Override
    public Tensor upload(Tensor host) {
        host.requireHost();
        if (!host.dtype().isFloatingPoint()) {
            throw new IllegalArgumentException("cannot upload a " + host.dtype()
                    + " tensor as F32: " + host);
        }
        Tensor uploaded = host.toF32();
        this.uploaded.add(uploaded);
        return uploaded;
    }

    /** How many uploaded weights have their packed form kept (for tests). */
    int keptWeights() {
        return convolutions.keptWeights();
    }

    /**
     * The object a weight's packed form is kept under: the weight itself where this backend
     * uploaded it (weights are read-only once uploaded), else null, packed on every call.
     */
    private Object constant(Tensor weight) {
        return uploaded.contains(weight) ? weight : null;
    }

    @Override
    public Tensor download(Tensor tensor) {
        return tensor.toF32();
    }

    // ---- convolution and products ------------------------------------------------------------

    @Override
    public Tensor conv2d(Tensor x, Tensor weight, Tensor bias, Conv2dSpec spec, Activation act) {
        Convolutions.Geometry g = geometry(x, weight, bias, spec);
        Tensor y = outputs.allocate(g.n(), g.o(), g.outH(), g.outW());
        return filled(y, () -> {
            convolutions.convolve(g, x.segment(), null, weight.segment(), constant(weight),
                    bias == null ? null : bias.segment(), y.segment(), act, null);
        });
    }

    @Override
    public Tensor gatedConv2d(Tensor x, Tensor gate, Tensor weight, Tensor bias, Conv2dSpec spec,
            Activation act) {
        Convolutions.Geometry g = geometry(x, weight, bias, spec);
        requireGate("gatedConv2d", gate, g, x);
        if (!Convolutions.acrossImages(g)) {
            try (Tensor scaled = scaleChannels(x, gate, null)) {
                return conv2d(scaled, weight, bias, spec, act);
            }
        }
        Tensor y = outputs.allocate(g.n(), g.o(), g.outH(), g.outW());
        return filled(y, () -> {
            convolutions.convolve(g, x.segment(), gate.segment(), weight.segment(),
                    constant(weight), bias == null ? null : bias.segment(), y.segment(), act,
                    null);
        });
    }

    private static void requireGate(String op, Tensor gate, Convolutions.Geometry g, Tensor x) {
        requireF32(op + " gate", gate, 2);
        if (gate.dim(0) != g.n() || gate.dim(1) != g.c()) {
            throw new IllegalArgumentException(op + ": gate " + Arrays.toString(gate.shape())
                    + " is not [N, C] for input " + Arrays.toString(x.shape()));
        }
    }

    /**
     * The residual is added as the products write their output where the convolution runs on
     * the engine's own kernel (1×1 over small images, gated or not, and dense ones); elsewhere
     * it is a convolution and then an addition.
     */
    @Override
    public Tensor conv2dAdd(Tensor x, Tensor gate, Tensor weight, Tensor bias, Conv2dSpec spec,
            Activation act, Tensor residual) {
        Convolutions.Geometry g = geometry(x, weight, bias, spec);
        if (gate != null) {
            requireGate("conv2dAdd", gate, g, x);
        }
        long[] outShape = {g.n(), g.o(), g.outH(), g.outW()};
        requireResidual("conv2dAdd", residual, outShape);
        if (!Convolutions.addsResidual(g) || (gate != null && !Convolutions.acrossImages(g))) {
            return Backend.super.conv2dAdd(x, gate, weight, bias, spec, act, residual);
        }
        Tensor y = outputs.allocate(outShape);
        return filled(y, () -> {
            convolutions.convolve(g, x.segment(), gate == null ? null : gate.segment(),
                    weight.segment(), constant(weight), bias == null ? null : bias.segment(),
                    y.segment(), act, residual.segment());
        });
    }

    /**
     * One pass of products over blocks of pixels where the expansion is a dense convolution
     * on the engine's own kernel and the projection a 1×1 ({@link Convolutions#projectsPerBlock}):
     * the expanded activations stay in the core's cache, packed for the projection, and are
     * never written out. Otherwise the two convolutions one after another.
     */
    @Override
    public Tensor edgeResidual(Tensor x, InvertedResidual.Conv expand,
            InvertedResidual.Conv project, Tensor residual) {
        Convolutions.Geometry ge = geometry(x, expand.weight(), expand.bias(), expand.spec());
        Convolutions.Geometry gp = geometry(new long[] {ge.n(), ge.o(), ge.outH(), ge.outW()},
                project.weight(), project.bias(), project.spec());
        long[] outShape = {gp.n(), gp.o(), gp.outH(), gp.outW()};
        if (residual != null) {
            // before either route computes anything
            requireResidual("edgeResidual", residual, outShape);
        }
        if (!Convolutions.projectsPerBlock(ge, gp)) {
            return Backend.super.edgeResidual(x, expand, project, residual);
        }
        Tensor y = outputs.allocate(outShape);
        return filled(y, () -> convolutions.convolveProjected(ge, gp, x.segment(),
                expand.weight().segment(), constant(expand.weight()), segment(expand.bias()),
                expand.act(), project.weight().segment(), constant(project.weight()),
                segment(project.bias()), project.act(), segment(residual), y.segment()));
    }

    /**
     * Channel-blocked between the block's layers ({@link InvertedResiduals}) where the block
     * fits that path; otherwise its convolutions one after another, each NCHW.
     */
    @Override
    public Tensor invertedResidual(Tensor x, InvertedResidual block, Tensor residual) {
        InvertedResidual.Conv expand = block.expand();
        InvertedResidual.Conv depthwise = block.depthwise();
        InvertedResidual.Gate gate = block.gate();
        InvertedResidual.Conv project = block.project();
        Convolutions.Geometry ge = geometry(x, expand.weight(), expand.bias(), expand.spec());
        Convolutions.Geometry gd = geometry(new long[] {ge.n(), ge.o(), ge.outH(), ge.outW()},
                depthwise.weight(), depthwise.bias(), depthwise.spec());
        Convolutions.Geometry gp = geometry(new long[] {gd.n(), gd.o(), gd.outH(), gd.outW()},
                project.weight(), project.bias(), project.spec());
        if (project.act() != Activation.IDENTITY || !InvertedResiduals.fits(ge, gd, gp)) {
            return Backend.super.invertedResidual(x, block, residual);
        }
        requireGateWeights(gd.o(), gate.reduceWeight(), gate.expandWeight());
        long[] outShape = {gp.n(), gp.o(), gp.outH(), gp.outW()};
        if (residual != null) {
            requireResidual("invertedResidual", residual, outShape);
        }
        InvertedResiduals blocked = convolutions.invertedResiduals();
        int pixels = InvertedResiduals.paddedPixels(ge);
        // a strided depthwise convolution leaves fewer pixels for the projection
        int outPixels = InvertedResiduals.outputPixels(gd);
        Tensor y = outputs.allocate(outShape);
        if (y.numel() == 0) {
            // an empty batch (or no output channels): nothing to compute
            return y;
        }
        return filled(y, () -> {
            try (Tensor hidden = outputs.allocate(ge.o() / L, pixels, L);
                    Tensor activated = outputs.allocate(ge.o() / L, outPixels, L);
                    Tensor means = outputs.allocate(ge.n(), ge.o());
                    Tensor sums = outputs.allocate(gp.o() / L, outPixels, L)) {
                blocked.expandThenDepthwise(ge, x.segment(), expand.weight().segment(),
                        constant(expand.weight()), segment(expand.bias()), expand.act(),
                        hidden.segment(), gd, depthwise.weight().segment(),
                        segment(depthwise.bias()), depthwise.act(), activated.segment(),
                        means.segment());
                try (Tensor excitation = gateOfMeans(means, gate.reduceWeight(),
                        gate.reduceBias(), gate.expandWeight(), gate.expandBias(), gate.act())) {
                    blocked.project(gp, activated.segment(), excitation.segment(),
                            project.weight().segment(), constant(project.weight()),
                            segment(project.bias()), segment(residual), sums.segment(),
                            y.segment());
                }
            }
        });
    }

    /** A tensor's memory, or null for none. */
    private static MemorySegment segment(Tensor t) {
        return t == null ? null : t.segment();
    }

    @Override
    public Tensor channelMlp(Tensor x, Tensor w1, Tensor b1, Activation act, Tensor w2,
            Tensor b2, Tensor scale, Tensor residual) {
        return mlp(x, null, null, 0f, w1, b1, act, w2, b2, scale, residual, false);
    }

    /**
     * As {@link #layerNormChannels} followed by {@link #channelMlp}, with the same bits where
     * the MLP runs fused: the normalized pixels go from x straight into the packed strips of
     * the MLP's first product, so they are never written out nor read back.
     */
    @Override
    public Tensor normalizedChannelMlp(Tensor x, Tensor gamma, Tensor beta, float eps,
            Tensor w1, Tensor b1, Activation act, Tensor w2, Tensor b2, Tensor scale,
            Tensor residual) {
        requireF32("layerNorm2d input", x, 4);
        requireAffine("layerNorm2d", gamma, beta, x.size(1));
        return mlp(x, gamma, beta, eps, w1, b1, act, w2, b2, scale, residual, false);
    }

    /**
     * As {@link #normalizedChannelMlp}, written over the residual where the MLP runs fused
     * with a layer scale and the residual owns writable memory apart from x: the same bits,
     * in the residual's memory.
     */
    @Override
    public Tensor normalizedChannelMlpOver(Tensor x, Tensor gamma, Tensor beta, float eps,
            Tensor w1, Tensor b1, Activation act, Tensor w2, Tensor b2, Tensor scale,
            Tensor residual) {
        Tensor y = null;
        try {
            requireF32("layerNorm2d input", x, 4);
            requireAffine("layerNorm2d", gamma, beta, x.size(1));
            y = mlp(x, gamma, beta, eps, w1, b1, act, w2, b2, scale, residual, true);
            return y;
        } finally {
            if (residual != null && y != residual) {
                residual.close();
            }
        }
    }

    /**
     * {@link #channelMlp} of x, normalized first where gamma is not null; {@code over}: the
     * output may be written over the residual, which the caller has given up.
     */
    private Tensor mlp(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor w1, Tensor b1,
            Activation act, Tensor w2, Tensor b2, Tensor scale, Tensor residual,
            boolean over) {
        Conv2dSpec pointwise = Conv2dSpec.symmetric(1, 0, 1, 1);
        Convolutions.Geometry expand = geometry(x, w1, b1, pointwise);
        if (w1.dim(2) != 1 || w1.dim(3) != 1) {
            // the interface's default refuses it too, but only after the residual's shape
            // (checked below against a shrunken output) would have been blamed
            throw new IllegalArgumentException("channelMlp: first weight "
                    + Arrays.toString(w1.shape()) + " is not [Ch, C, 1, 1]");
        }
        int hidden = expand.o();
        requireF32("channelMlp second weight", w2, 4);
        if (w2.dim(1) != hidden || w2.dim(2) != 1 || w2.dim(3) != 1) {
            throw new IllegalArgumentException("channelMlp: second weight "
                    + Arrays.toString(w2.shape()) + " does not take " + hidden + " channels");
        }
        int out = w2.size(0);
        if (b2 != null) {
            requireF32("channelMlp second bias", b2, 1);
            requireLength("channelMlp second bias", b2, out);
        }
        if (scale != null) {
            requireF32("channelMlp scale", scale, 1);
            requireLength("channelMlp scale", scale, out);
        }
        long[] outShape = {expand.n(), out, expand.h(), expand.w()};
        if (residual != null) {
            requireResidual("channelMlp", residual, outShape);
        }
        if (!Convolutions.fusedMlp(expand)) {
            return gamma == null ? Backend.super.channelMlp(x, w1, b1, act, w2, b2, scale,
                    residual) : Backend.super.normalizedChannelMlp(x, gamma, beta, eps, w1, b1,
                    act, w2, b2, scale, residual);
        }
        PixelProducts.ChannelNorm norm = gamma == null ? null
                : new PixelProducts.ChannelNorm(gamma.toFloatArray(), beta.toFloatArray(), eps);
        // over the residual only where the layer scale's store runs, which reads each
        // residual value just before it writes the output there (the plain store writes its
        // sums first and adds the residual after); only a residual that owns its writable
        // memory (not a view of a tensor the caller keeps, not a read-only mapping), and one
        // apart from x, which is read throughout
        Tensor y = over && residual != null && scale != null && residual.ownsMemory()
                && !residual.segment().isReadOnly()
                && x.segment().asOverlappingSlice(residual.segment()).isEmpty()
                ? residual : outputs.allocate(outShape);
        return filled(y, () -> {
            convolutions.channelMlp(expand, x.segment(), norm, w1.segment(),
                    b1 == null ? null : b1.segment(), act, out, w2.segment(),
                    b2 == null ? null : b2.segment(), scale == null ? null : scale.segment(),
                    residual == null ? null : residual.segment(), y.segment(), constant(w1),
                    constant(w2));
        });
    }

    /** Bytes the output pool holds for reuse now (for tests of what goes back to it). */
    long idleOutputBytes() {
        return outputs.idleBytes();
    }

    /**
     * Runs {@code kernel}, which writes {@code y}, and returns y; if the kernel fails, y goes
     * back to the pool before the failure is rethrown, rather than staying allocated.
     */
    private static Tensor filled(Tensor y, Runnable kernel) {
        try {
            kernel.run();
            return y;
        } catch (RuntimeException | Error e) {
            y.close();
            throw e;
        }
    }

    /** The shapes of a convolution call, checked. */
    private static Convolutions.Geometry geometry(Tensor x, Tensor weight, Tensor bias,
            Conv2dSpec spec) {
        requireF32("conv2d input", x, 4);
        return geometry(x.shape(), weight, bias, spec);
    }

    /** The shapes of a convolution of an input of shape {@code shape} (rank 4), checked. */
    private static Convolutions.Geometry geometry(long[] shape, Tensor weight, Tensor bias,
            Conv2dSpec spec) {
        requireF32("conv2d weight", weight, 4);
        int n = Math.toIntExact(shape[0]), c = Math.toIntExact(shape[1]);
        int h = Math.toIntExact(shape[2]), w = Math.toIntExact(shape[3]);
        int o = weight.size(0), kh = weight.size(2), kw = weight.size(3);
        int groups = spec.groups();
        if (c % groups != 0 || o % groups != 0 || weight.size(1) != c / groups) {
            throw new IllegalArgumentException("conv2d: weight " + Arrays.toString(weight.shape())
                    + " does not fit input " + Arrays.toString(shape) + " with " + groups
                    + " groups");
        }
        if (bias != null) {
            requireF32("conv2d bias", bias, 1);
            requireLength("conv2d bias", bias, o);
        }
        int outH = spec.outH(h, kh);
        int outW = spec.outW(w, kw);
        if (outH <= 0 || outW <= 0) {
            throw new IllegalArgumentException("conv2d: a " + kh + "×" + kw + " kernel with "
                    + spec + " leaves no output for input " + Arrays.toString(shape));
        }
        return new Convolutions.Geometry(n, c, h, w, o, kh, kw, outH, outW, spec);
    }

    @Override
    public Tensor linear(Tensor x, Tensor weight, Tensor bias, Activation act) {
        requireF32("linear input", x, -1);
        requireF32("linear weight", weight, 2);
        int in = weight.size(1);
        int out = weight.size(0);
        if (x.rank() < 1 || x.dim(-1) != in) {
            throw new IllegalArgumentException("linear: input " + Arrays.toString(x.shape())
                    + " does not end in " + in + " features of weight "
                    + Arrays.toString(weight.shape()));
        }
        if (bias != null) {
            requireF32("linear bias", bias, 1);
            requireLength("linear bias", bias, out);
        }
        // the leading dimensions' product, not numel / in, which is 0 when in is 0
        int rows = Math.toIntExact(leading(x, 1));
        long[] shape = x.shape();
        shape[shape.length - 1] = out;
        Tensor y = outputs.allocate(shape);
        return filled(y, () -> {
            gemm.multiply(1, rows, out, in,
                    x.segment(), 0, 0, in, false,
                    weight.segment(), 0, 0, in, true,
                    y.segment(), 0, 0, out, false);
            // LIMITATION: a bias per column of the product, so not the epilogue's bias per row;
            // a second pass, cheap for the heads' small matrices.
            biasActivateRows(y, rows, out, bias, act);
        });
    }

    /** {@code y[r] = act(y[r] + bias)} in place for each of the rows of y, {@code [rows, out]}. */
    private void biasActivateRows(Tensor y, int rows, int out, Tensor bias, Activation act) {
        if (bias == null && act == Activation.IDENTITY) {
            return;
        }
        workers.forChunks(rows, Math.max(1, GRAIN / Math.max(1, out)), (r0, r1) -> {
            long off = r0 * out * Float.BYTES;
            if (bias != null) {
                Pointwise.columnBiasActivate(y.segment(), off, r1 - r0, out, bias.segment(), act);
            } else {
                Pointwise.biasActivate(y.segment(), off, y.segment(), off, (r1 - r0) * out, 0f,
                        act);
            }
        });
    }

    @Override
    public Tensor matmul(Tensor a, Tensor b) {
        requireF32("matmul left", a, -1);
        requireF32("matmul right", b, -1);
        if (a.rank() < 2 || a.rank() != b.rank()) {
            throw new IllegalArgumentException("matmul needs two tensors of the same rank >= 2,"
                    + " got " + Arrays.toString(a.shape()) + " and "
                    + Arrays.toString(b.shape()));
        }
        int m = a.size(-2), k = a.size(-1), n = b.size(-1);
        long batch = leading(a, 2);
        for (int i = 0; i < a.rank() - 2; i++) {
            if (a.dim(i) != b.dim(i)) {
                throw new IllegalArgumentException("matmul batch dimensions differ: "
                        + Arrays.toString(a.shape()) + " × " + Arrays.toString(b.shape()));
            }
        }
        if (b.size(-2) != k) {
            throw new IllegalArgumentException("matmul inner dimensions differ: "
                    + Arrays.toString(a.shape()) + " × " + Arrays.toString(b.shape()));
        }
        long[] shape = a.shape();
        shape[shape.length - 1] = n;
        Tensor y = outputs.allocate(shape);
        return filled(y, () -> {
            gemm.multiply(Math.toIntExact(batch), m, n, k,
                    a.segment(), 0, (long) m * k, k, false,
                    b.segment(), 0, (long) k * n, n, false,
                    y.segment(), 0, (long) m * n, n, false);
        });
    }

    // ---- normalisation -----------------------------------------------------------------------

    @Override
    public Tensor layerNormLastDim(Tensor x, Tensor gamma, Tensor beta, float eps) {
        requireF32("layerNorm input", x, -1);
        int width = x.size(-1);
        requireAffine("layerNorm", gamma, beta, width);
        long rows = x.numel() / Math.max(1, width);
        Tensor y = outputs.allocate(x.shape());
        return filled(y, () -> {
            workers.forChunks(rows, Math.max(1, GRAIN / Math.max(1, width)), (r0, r1) -> {
                for (long r = r0; r < r1; r++) {
                    long off = r * width * Float.BYTES;
                    // the mean as the first value plus the mean deviation from it, so a large
                    // common offset costs no digits
                    float shift = width == 0 ? 0f : x.segment().get(F32, off);
                    float mean = (float) (Reductions.shiftedSum(x.segment(), off, width, shift)
                            / width);
                    double variance = Reductions.squaredDeviations(x.segment(), off, width, shift,
                            mean) / width;
                    float rstd = (float) (1 / Math.sqrt(variance + eps));
                    Reductions.normalizeRow(x.segment(), off, y.segment(), off, width, shift, mean,
                            rstd, gamma.segment(), beta.segment());
                }
            });
        });
    }

    @Override
    public Tensor layerNormChannels(Tensor x, Tensor gamma, Tensor beta, float eps) {
        requireF32("layerNorm2d input", x, 4);
        int n = x.size(0), c = x.size(1);
        long plane = x.dim(2) * x.dim(3);
        requireAffine("layerNorm2d", gamma, beta, c);
        float[] g = gamma.toFloatArray();
        float[] b = beta.toFloatArray();
        Tensor y = outputs.allocate(x.shape());
        // pixels four vectors at a time, the plane's last few vectors one at a time
        int four = Reductions.FOUR_VECTORS;
        return filled(y, () -> {
            long chunks = (plane + four - 1) / four;
            workers.forChunks(n * chunks, Math.max(1, GRAIN / Math.max(1, (long) c * four)),
                    (t0, t1) -> {
                        for (long t = t0; t < t1; t++) {
                            long image = t / chunks;
                            long p0 = (t % chunks) * four;
                            if (p0 + four <= plane) {
                                Reductions.normalizeChannelsFour(x.segment(), y.segment(),
                                        image, c, plane, p0, g, b, eps);
                                continue;
                            }
                            for (long p = p0; p < plane; p += L) {
                                Reductions.normalizeChannels(x.segment(), y.segment(), image, c,
                                        plane, p, g, b, eps);
                            }
                        }
                    });
        });
    }

    // ---- pointwise ---------------------------------------------------------------------------

    @Override
    public Tensor activate(Tensor x, Activation act) {
        requireF32("activation input", x, -1);
        Tensor y = outputs.allocate(x.shape());
        return filled(y, () -> {
            workers.forChunks(x.numel(), GRAIN, (i0, i1) -> Pointwise.biasActivate(x.segment(),
                    i0 * Float.BYTES, y.segment(), i0 * Float.BYTES, i1 - i0, 0f, act));
        });
    }

    @Override
    public Tensor add(Tensor a, Tensor b) {
        requireF32("add left", a, -1);
        requireF32("add right", b, -1);
        if (!Arrays.equals(a.shape(), b.shape())) {
            throw new IllegalArgumentException("add needs equal shapes, got "
                    + Arrays.toString(a.shape()) + " and " + Arrays.toString(b.shape()));
        }
        Tensor y = outputs.allocate(a.shape());
        return filled(y, () -> {
            workers.forChunks(a.numel(), GRAIN, (i0, i1) -> {
                for (long i = i0; i < i1; i += L) {
                    VectorMask<Float> lanes = S.indexInRange(i, i1);
                    long o = i * Float.BYTES;
                    FloatVector.fromMemorySegment(S, a.segment(), o, LE, lanes)
                            .add(FloatVector.fromMemorySegment(S, b.segment(), o, LE, lanes))
                            .intoMemorySegment(y.segment(), o, LE, lanes);
                }
            });
        });
    }

    @Override
    public Tensor scaleChannels(Tensor x, Tensor scale, Tensor residual) {
        requireF32("scaleChannels input", x, 4);
        requireF32("scaleChannels scale", scale, -1);
        int n = x.size(0), c = x.size(1);
        long plane = x.dim(2) * x.dim(3);
        boolean perImage = scale.rank() == 2;
        if (!(scale.rank() == 1 && scale.dim(0) == c)
                && !(perImage && scale.dim(0) == n && scale.dim(1) == c)) {
            throw new IllegalArgumentException("scaleChannels: scale "
                    + Arrays.toString(scale.shape()) + " is neither [C] nor [N, C] for input "
                    + Arrays.toString(x.shape()));
        }
        if (residual != null) {
            requireF32("scaleChannels residual", residual, 4);
            if (!Arrays.equals(residual.shape(), x.shape())) {
                throw new IllegalArgumentException("scaleChannels: residual "
                        + Arrays.toString(residual.shape()) + " differs from input "
                        + Arrays.toString(x.shape()));
            }
        }
        Tensor y = outputs.allocate(x.shape());
        return filled(y, () -> {
            // planes in chunks: small planes (4×4 at the end of an EfficientNet) are not each
            // a task
            long grain = Math.max(1, GRAIN / Math.max(1, plane));
            workers.forChunks((long) n * c, grain, (p0, p1) -> {
                for (long p = p0; p < p1; p++) {
                    float s = scale.segment().getAtIndex(F32, perImage ? p : p % c);
                    long base = p * plane * Float.BYTES;
                    for (long i = 0; i < plane; i += L) {
                        VectorMask<Float> lanes = S.indexInRange(i, plane);
                        long o = base + i * Float.BYTES;
                        FloatVector v = FloatVector.fromMemorySegment(S, x.segment(), o, LE, lanes)
                                .mul(s);
                        if (residual != null) {
                            v = v.add(FloatVector.fromMemorySegment(S, residual.segment(), o, LE,
                                    lanes));
                        }
                        v.intoMemorySegment(y.segment(), o, LE, lanes);
                    }
                }
            });
        });
    }

    @Override
    public Tensor squeezeExcite(Tensor x, Tensor reduceWeight, Tensor reduceBias,
            Tensor expandWeight, Tensor expandBias, Activation act) {
        // scale every channel by its gate
        try (Tensor gate = squeezeExciteGate(x, reduceWeight, reduceBias, expandWeight,
                expandBias, act)) {
            return scaleChannels(x, gate, null);
        }
    }

    @Override
    public Tensor squeezeExciteGate(Tensor x, Tensor reduceWeight, Tensor reduceBias,
            Tensor expandWeight, Tensor expandBias, Activation act) {
        requireF32("squeezeExcite input", x, 4);
        requireGateWeights(x.size(1), reduceWeight, expandWeight);
        // squeeze: the mean of every channel
        try (Tensor pooled = globalAvgPool(x)) {
            return gateOfMeans(pooled, reduceWeight, reduceBias, expandWeight, expandBias, act);
        }
    }

    /**
     * A depthwise convolution pools its output as it writes it, each plane while it is in
     * cache; other convolutions are followed by {@link #squeezeExciteGate}.
     */
    @Override
    public GatedActivations conv2dWithGate(Tensor x, Tensor weight, Tensor bias,
            Conv2dSpec spec, Activation act, Tensor reduceWeight, Tensor reduceBias,
            Tensor expandWeight, Tensor expandBias, Activation gateAct) {
        Convolutions.Geometry g = geometry(x, weight, bias, spec);
        if (!g.depthwise()) {
            return Backend.super.conv2dWithGate(x, weight, bias, spec, act, reduceWeight,
                    reduceBias, expandWeight, expandBias, gateAct);
        }
        requireGateWeights(g.o(), reduceWeight, expandWeight);
        Tensor y = outputs.allocate(g.n(), g.o(), g.outH(), g.outW());
        try (Tensor means = outputs.allocate(g.n(), g.o())) {
            convolutions.depthwiseWithMeans(g, x.segment(), weight.segment(),
                    bias == null ? null : bias.segment(), y.segment(), act, means.segment());
            return new GatedActivations(y, gateOfMeans(means, reduceWeight, reduceBias,
                    expandWeight, expandBias, gateAct));
        } catch (RuntimeException | Error e) {
            y.close();
            throw e;
        }
    }

    private static void requireGateWeights(int c, Tensor reduceWeight, Tensor expandWeight) {
        requireF32("squeezeExcite reduce weight", reduceWeight, 4);
        requireF32("squeezeExcite expand weight", expandWeight, 4);
        int reduced = reduceWeight.size(0);
        if (reduceWeight.dim(1) != c || expandWeight.dim(0) != c || expandWeight.dim(1) != reduced
                || reduceWeight.dim(2) * reduceWeight.dim(3) != 1
                || expandWeight.dim(2) * expandWeight.dim(3) != 1) {
            throw new IllegalArgumentException("squeezeExcite: weights "
                    + Arrays.toString(reduceWeight.shape()) + " and "
                    + Arrays.toString(expandWeight.shape()) + " do not fit " + c + " channels");
        }
    }

    /** The excitation of channel means {@code [N, C]}: reduce with act, expand with a sigmoid. */
    private Tensor gateOfMeans(Tensor means, Tensor reduceWeight, Tensor reduceBias,
            Tensor expandWeight, Tensor expandBias, Activation act) {
        try (Tensor hidden = gateProduct("reduce", means, reduceWeight, reduceBias, act)) {
            return gateProduct("expand", hidden, expandWeight, expandBias, Activation.SIGMOID);
        }
    }

    /**
     * {@code act(x · Wᵀ + bias)} for a squeeze-excite gate's few rows (one per image) and a
     * 1×1 weight W {@code [outs, k, 1, 1]}. Not {@link #linear}: there each product is one
     * BLAS call, packing W anew every call; here it runs on the convolutions' register tile,
     * on the calling thread, and a constant W is transposed once and kept.
     */
    private Tensor gateProduct(String which, Tensor x, Tensor weight, Tensor bias,
            Activation act) {
        int rows = x.size(0);
        int k = x.size(1);
        int outs = weight.size(0);
        if (bias != null) {
            requireF32("squeezeExcite " + which + " bias", bias, 1);
            requireLength("squeezeExcite " + which + " bias", bias, outs);
        }
        Tensor y = outputs.allocate(rows, outs);
        return filled(y, () -> {
            convolutions.rowProducts(x.segment(), rows, k, weight.segment(), constant(weight),
                    outs, y.segment());
            biasActivateRows(y, rows, outs, bias, act);
        });
    }

    // ---- pooling and softmax -----------------------------------------------------------------

    @Override
    public Tensor globalAvgPool(Tensor x) {
        requireF32("globalAvgPool input", x, 4);
        long plane = x.dim(2) * x.dim(3);
        long planes = x.dim(0) * x.dim(1);
        Tensor y = outputs.allocate(x.dim(0), x.dim(1));
        // small planes (a squeeze-excite gate's 4×4, 7×7, 8×8 and 14×14) are shared out 16 at
        // a time, and go 16 to a reduction
        long unit = Reductions.takesSixteenMeans(plane) ? 16 : 1;
        return filled(y, () -> workers.forChunks((planes + unit - 1) / unit,
                Math.max(1, GRAIN / Math.max(1, unit * plane)), (u0, u1) -> {
                    float[] scratch = new float[2 * 16 * 16];
                    long from = unit * u0;
                    Reductions.planeMeans(x.segment(), from, Math.min(planes, unit * u1) - from,
                            plane, planes, y.segment(), scratch);
                }));
    }

    @Override
    public Tensor globalMaxPool(Tensor x) {
        requireF32("globalMaxPool input", x, 4);
        long plane = x.dim(2) * x.dim(3);
        Tensor y = outputs.allocate(x.dim(0), x.dim(1));
        return filled(y, () -> {
            workers.forChunks(x.dim(0) * x.dim(1), Math.max(1, GRAIN / Math.max(1, plane)),
                    (p0, p1) -> {
                        for (long p = p0; p < p1; p++) {
                            y.segment().setAtIndex(F32, p,
                                    Reductions.max(x.segment(), p * plane * Float.BYTES, plane));
                        }
                    });
        });
    }

    @Override
    public Tensor softmax(Tensor x) {
        requireF32("softmax input", x, -1);
        int width = x.size(-1);
        long rows = x.numel() / Math.max(1, width);
        Tensor y = outputs.allocate(x.shape());
        return filled(y, () -> {
            workers.forChunks(rows, Math.max(1, GRAIN / Math.max(1, width)), (r0, r1) -> {
                for (long r = r0; r < r1; r++) {
                    long off = r * width * Float.BYTES;
                    float max = Reductions.max(x.segment(), off, width);

                    // exp(x - max), then divide by the sum
                    FloatVector shift = FloatVector.broadcast(S, max);
                    for (int i = 0; i < width; i += L) {
                        VectorMask<Float> lanes = S.indexInRange(i, width);
                        long o = off + (long) i * Float.BYTES;
                        VectorMath.exp(FloatVector.fromMemorySegment(S, x.segment(), o, LE, lanes)
                                .sub(shift)).intoMemorySegment(y.segment(), o, LE, lanes);
                    }
                    float inverse =
                            (float) (1 / Reductions.shiftedSum(y.segment(), off, width, 0f));
                    for (int i = 0; i < width; i += L) {
                        VectorMask<Float> lanes = S.indexInRange(i, width);
                        long o = off + (long) i * Float.BYTES;
                        FloatVector.fromMemorySegment(S, y.segment(), o, LE, lanes).mul(inverse)
                                .intoMemorySegment(y.segment(), o, LE, lanes);
                    }
                }
            });
        });
    }

    @Override
    public void close() {
        workers.close();
        outputs.close();
    }

    @Override
    public String toString() {
        return name;
    }

    // ---- checks ------------------------------------------------------------------------------

    /** The product of all dimensions of {@code t} but its last {@code trailing}. */
    private static long leading(Tensor t, int trailing) {
        long product = 1;
        for (int i = 0; i < t.rank() - trailing; i++) {
            product *= t.dim(i);
        }
        return product;
    }

    /** An F32 CPU tensor of the given rank (any rank when {@code rank} is negative). */
    private static void requireF32(String what, Tensor t, int rank) {
        if (t == null) {
            throw new IllegalArgumentException(what + " is missing");
        }
        if (!t.device().isCpu() || t.dtype() != DType.F32) {
            throw new IllegalArgumentException(what + " must be an F32 CPU tensor, got " + t);
        }
        if (rank >= 0 && t.rank() != rank) {
            throw new IllegalArgumentException(what + " must have rank " + rank + ", got "
                    + Arrays.toString(t.shape()));
        }
    }

    /** A residual to add to an output of shape {@code outShape}: an F32 CPU tensor of it. */
    private static void requireResidual(String op, Tensor residual, long[] outShape) {
        requireF32(op + " residual", residual, 4);
        if (!Arrays.equals(residual.shape(), outShape)) {
            throw new IllegalArgumentException(op + ": residual "
                    + Arrays.toString(residual.shape()) + " is not the output's "
                    + Arrays.toString(outShape));
        }
    }

    private static void requireLength(String what, Tensor t, long length) {
        if (t.numel() != length) {
            throw new IllegalArgumentException(what + " must hold " + length + " values, got "
                    + Arrays.toString(t.shape()));
        }
    }

    private static void requireAffine(String what, Tensor gamma, Tensor beta, int width) {
        requireF32(what + " weight", gamma, 1);
        requireF32(what + " bias", beta, 1);
        requireLength(what + " weight", gamma, width);
        requireLength(what + " bias", beta, width);
    }
}
