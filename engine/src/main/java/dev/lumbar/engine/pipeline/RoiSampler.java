package dev.lumbar.engine.pipeline;

import dev.lumbar.engine.tensor.DType;
import dev.lumbar.engine.tensor.Tensor;
import java.util.List;

/**
 * Cuts the bags of one stack: for each target, S instances of C channels of h × w pixels,
 * returned together as one tensor {@code [T, S, C, h, w]}.
 *
 * <h2>Coordinate convention</h2>
 * The CUDA sampler follows this exactly.
 * <ul>
 * <li>Pixel centres sit at integer coordinates: pixel (column i, row j) of the original image is
 *     the point (x = i, y = j); the image covers [-0.5, cols - 0.5] × [-0.5, rows - 0.5].</li>
 * <li>The resize before cropping (to {@code resizeRows × resizeCols}) has PyTorch's
 *     {@code align_corners=False} semantics: resized coordinate x' and original x satisfy
 *     {@code x + 0.5 = (x' + 0.5) · cols / resizeCols}. With no resize the scale is 1.</li>
 * <li>The crop box is continuous, in resized pixels, around the target's point p' (its resized
 *     coordinate): x' ∈ [p'x - left, p'x + right], y' ∈ [p'y - up, p'y + down]. For a mirrored
 *     (patient's left) target, left and right swap.</li>
 * <li>The box is resampled to h × w with {@code align_corners=False}: output pixel (ox, oy) has
 *     box offset {@code dx = -left + (ox + 0.5) · (left + right) / w},
 *     {@code dy = -up + (oy + 0.5) · (up + down) / h}. With {@code flipOtherSide}, a mirrored
 *     target's output column ox takes the offset of column {@code w - 1 - ox}.</li>
 * <li>Levelling rotates the offset by the target's angle θ about the point:
 *     {@code (dx cos θ - dy sin θ, dx sin θ + dy cos θ)}, so a disc running at θ in the image
 *     runs along the output's rows.</li>
 * <li>Back in original pixels the sample point is {@code x = p.x + rx · cols / resizeCols},
 *     {@code y = p.y + ry · rows / resizeRows}, read bilinearly from the four surrounding pixel
 *     centres; a neighbour outside the image reads as 0 ({@code grid_sample} with
 *     {@code padding_mode='zeros'}).</li>
 * <li>Composing the resize into the crop samples the original image once. This equals
 *     "resize, then crop, then resize" only up to the second interpolation that the composed
 *     form avoids; neither form low-pass filters when shrinking.</li>
 * </ul>
 * Instance s of a bag is the slice {@code k + (s - (S-1)/2) · sliceStep} around the target's
 * slice k, clamped to the stack (the end slices repeat). Normalisation runs per bag, over all
 * its S · C · h · w values.
 *
 * <p>Stateless and thread-safe.
 */
public final class RoiSampler {

    private RoiSampler() {
    }

    /**
     * Cuts one bag per target.
     *
     * @param stack   {@code [slices, rows, cols]} F32 on the CPU
     * @param targets the points to cut around, all in this stack
     * @return {@code [T, S, C, h, w]}, owned by the caller
     */
    public static Tensor sample(Tensor stack, List<RoiTarget> targets, BagGeometry geometry) {
        stack.requireHost();
        stack.requireDType(DType.F32);
        if (stack.rank() != 3) {
            throw new IllegalArgumentException("stack must be [slices, rows, cols], got " + stack);
        }
        int slices = stack.size(0);
        float[] voxels = stack.toFloatArray();
        int bagLength = geometry.slices() * geometry.channels() * geometry.outRows()
                * geometry.outCols();
        float[] bags = new float[Math.multiplyExact(targets.size(), bagLength)];
        for (int t = 0; t < targets.size(); t++) {
            RoiTarget target = targets.get(t);
            if (target.slice() < 0 || target.slice() >= slices) {
                throw new IllegalArgumentException("target slice " + target.slice()
                        + " outside the stack's " + slices + " slices");
            }
            cutBag(voxels, stack.size(1), stack.size(2), slices, target, geometry, bags,
                    t * bagLength);
            geometry.normalisation().apply(bags, t * bagLength, bagLength);
        }
        return Tensor.of(bags, targets.size(), geometry.slices(), geometry.channels(),
                geometry.outRows(), geometry.outCols());
    }

    // LIMITATION: the composed resample reads four pixels per output pixel and never
    // low-pass filters, so a crop box much larger than the output aliases where an area resize
    // (cv2 INTER_AREA) would average.
    private static void cutBag(float[] voxels, int rows, int cols, int slices, RoiTarget target,
            BagGeometry g, float[] out, int offset) {
        int h = g.outRows();
        int w = g.outCols();

        // the crop box, mirrored for the patient's left side
        double left = target.mirrored() ? g.right() : g.left();
        double right = target.mirrored() ? g.left() : g.right();
        boolean flip = target.mirrored() && g.flipOtherSide();

        // resized pixels → original pixels, per axis
        double scaleX = g.resizeCols() == 0 ? 1 : (double) cols / g.resizeCols();
        double scaleY = g.resizeRows() == 0 ? 1 : (double) rows / g.resizeRows();
        double angle = g.level() ? target.angle() : 0;
        double cos = Math.cos(angle);
        double sin = Math.sin(angle);

        // the source point of every output pixel, shared by all instances and channels
        double[] sourceX = new double[h * w];
        double[] sourceY = new double[h * w];
        for (int oy = 0; oy < h; oy++) {
            double dy = -g.up() + (oy + 0.5) * (g.up() + g.down()) / h;
            for (int ox = 0; ox < w; ox++) {
                int column = flip ? w - 1 - ox : ox;
                double dx = -left + (column + 0.5) * (left + right) / w;
                double rx = dx * cos - dy * sin;
                double ry = dx * sin + dy * cos;
                sourceX[oy * w + ox] = target.x() + rx * scaleX;
                sourceY[oy * w + ox] = target.y() + ry * scaleY;
            }
        }

        // S instances × C channels, each a bilinear read of one slice
        int plane = rows * cols;
        int index = offset;
        for (int s = 0; s < g.slices(); s++) {
            for (int slice : g.channelSlices(target.slice(), s, slices)) {
                int base = slice * plane;
                for (int p = 0; p < h * w; p++) {
                    out[index++] = bilinear(voxels, base, rows, cols, sourceX[p], sourceY[p]);
                }
            }
        }
    }

    /** Bilinear read at (x, y) of the slice starting at {@code base}; outside pixels are 0. */
    static float bilinear(float[] voxels, int base, int rows, int cols, double x, double y) {
        double fx = Math.floor(x);
        double fy = Math.floor(y);
        if (fx < -1 || fy < -1 || fx >= cols || fy >= rows) {
            return 0f;
        }
        int x0 = (int) fx;
        int y0 = (int) fy;
        double wx = x - fx;
        double wy = y - fy;
        double top = (1 - wx) * pixel(voxels, base, rows, cols, x0, y0)
                + wx * pixel(voxels, base, rows, cols, x0 + 1, y0);
        double bottom = (1 - wx) * pixel(voxels, base, rows, cols, x0, y0 + 1)
                + wx * pixel(voxels, base, rows, cols, x0 + 1, y0 + 1);
        return (float) ((1 - wy) * top + wy * bottom);
    }

    private static float pixel(float[] voxels, int base, int rows, int cols, int x, int y) {
        return x < 0 || y < 0 || x >= cols || y >= rows ? 0f : voxels[base + y * cols + x];
    }
}
