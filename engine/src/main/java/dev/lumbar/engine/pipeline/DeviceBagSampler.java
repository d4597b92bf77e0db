package dev.lumbar.engine.pipeline;

import dev.lumbar.engine.backend.cuda.CudaBackend;
import dev.lumbar.engine.tensor.DType;
import dev.lumbar.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Cuts a whole study's bags on a CUDA device: every stack uploaded once, every bag (of every
 * member, flipped copies included) cut and normalised by one launch each, with the coordinates
 * of {@link RoiSampler}. The host folds each bag's geometry into an affine map from output pixel
 * to source pixel, computed in double exactly as {@link RoiSampler} computes its points, and
 * picks each plane's slice with {@link BagGeometry#channelSlices}; the device evaluates the map
 * in double, as the CPU does.
 *
 * <p>Used by {@link EnsembleGrader}; public for the GPU check, which compares it with
 * {@link RoiSampler} on a real device.
 */
public final class DeviceBagSampler {

    /**
     * One bag to cut: a target of a stack {@code [slices, rows, cols]} (host F32) with a
     * member's geometry, optionally flipped left-right as a whole.
     */
    public record Request(Tensor stack, RoiTarget target, BagGeometry geometry, boolean flipped) {
    }

    private DeviceBagSampler() {
    }

    /**
     * Cuts {@code requests} in order.
     *
     * @return one device tensor per request, {@code [S, C, h, w]}, views into one buffer that
     *         {@link Cut#close()} frees
     */
    public static Cut sample(CudaBackend gpu, List<Request> requests) {
        // every stack once, back to back in one host buffer, then one upload
        Map<Tensor, Long> stackStart = new IdentityHashMap<>();
        List<Tensor> stacks = new ArrayList<>();
        long total = 0;
        for (Request request : requests) {
            Tensor volume = request.stack();
            volume.requireHost();
            volume.requireDType(DType.F32);
            if (volume.rank() != 3) {
                throw new IllegalArgumentException("stack must be [slices, rows, cols], got "
                        + volume);
            }
            if (!stackStart.containsKey(request.stack())) {
                stackStart.put(request.stack(), total);
                stacks.add(request.stack());
                total += volume.numel();
            }
        }
        float[] study = new float[Math.toIntExact(Math.max(1, total))];
        for (Tensor stack : stacks) {
            float[] voxels = stack.toFloatArray();
            System.arraycopy(voxels, 0, study, Math.toIntExact(stackStart.get(stack)),
                    voxels.length);
        }

        List<CudaBackend.BagCut> cuts = new ArrayList<>();
        for (Request request : requests) {
            cuts.add(cut(request, stackStart.get(request.stack())));
        }
        Tensor bags;
        try (Tensor host = Tensor.of(study, study.length);
                Tensor onDevice = gpu.upload(host)) {
            bags = gpu.sampleBags(onDevice, cuts);
        }

        // views of the packed result, one per request
        List<Tensor> views = new ArrayList<>();
        long offset = 0;
        for (Request request : requests) {
            BagGeometry g = request.geometry();
            long[] shape = {g.slices(), g.channels(), g.outRows(), g.outCols()};
            long bytes = Tensor.numel(shape) * Float.BYTES;
            views.add(Tensor.wrap(bags.segment().asSlice(offset, bytes), DType.F32,
                    bags.device(), shape));
            offset += bytes;
        }
        return new Cut(bags, views);
    }

    /** The cut bags; closing frees them all. */
    public record Cut(Tensor packed, List<Tensor> bags) implements AutoCloseable {
        @Override
        public void close() {
            packed.close();
        }
    }

    /** The kernel's description of one bag, as {@link RoiSampler#sample} would cut it. */
    static CudaBackend.BagCut cut(Request request, long stackStart) {
        Tensor volume = request.stack();
        int slices = volume.size(0);
        int rows = volume.size(1);
        int cols = volume.size(2);
        RoiTarget target = request.target();
        BagGeometry g = request.geometry();
        if (target.slice() < 0 || target.slice() >= slices) {
            throw new IllegalArgumentException("target slice " + target.slice()
                    + " outside the stack's " + slices + " slices");
        }
        int h = g.outRows();
        int w = g.outCols();

        // the same box, mirroring and scales as RoiSampler.cutBag
        double left = target.mirrored() ? g.right() : g.left();
        double right = target.mirrored() ? g.left() : g.right();
        boolean flip = (target.mirrored() && g.flipOtherSide()) != request.flipped();
        double scaleX = g.resizeCols() == 0 ? 1 : (double) cols / g.resizeCols();
        double scaleY = g.resizeRows() == 0 ? 1 : (double) rows / g.resizeRows();
        double angle = g.level() ? target.angle() : 0;
        double cos = Math.cos(angle);
        double sin = Math.sin(angle);

        // box offsets as affine functions of the output pixel: dx = dx0 + ox·dxStep,
        // dy = dy0 + oy·dyStep; a flipped bag reads column w - 1 - ox
        double columnStep = (left + right) / w;
        double dx0 = flip ? -left + (w - 0.5) * columnStep : -left + 0.5 * columnStep;
        double dxStep = flip ? -columnStep : columnStep;
        double dyStep = (g.up() + g.down()) / h;
        double dy0 = -g.up() + 0.5 * dyStep;

        // rotated, then scaled back to original pixels
        double[] map = {
            target.x() + (dx0 * cos - dy0 * sin) * scaleX,
            dxStep * cos * scaleX,
            -dyStep * sin * scaleX,
            target.y() + (dx0 * sin + dy0 * cos) * scaleY,
            dxStep * sin * scaleY,
            dyStep * cos * scaleY
        };

        int[] planes = new int[g.slices() * g.channels()];
        for (int s = 0; s < g.slices(); s++) {
            System.arraycopy(g.channelSlices(target.slice(), s, slices), 0, planes,
                    s * g.channels(), g.channels());
        }
        Normalisation n = g.normalisation();
        int mode = switch (n.kind()) {
            case MINMAX -> 0;
            case ZSCORE -> 1;
            case WINDOW -> 2;
        };
        return new CudaBackend.BagCut(stackStart, rows, cols, planes, h, w, map, mode,
                (float) n.low(), (float) n.high());
    }
}
