package dev.lumbar.engine.backend;

/**
 * Geometry of a 2-D convolution: strides, explicit (possibly asymmetric) zero padding,
 * dilation and groups. Asymmetric padding is how TensorFlow-style 'same' padding is expressed.
 */
public record Conv2dSpec(int strideH, int strideW,
        int padTop, int padBottom, int padLeft, int padRight,
        int dilationH, int dilationW, int groups) {

    public Conv2dSpec {
        if (strideH < 1 || strideW < 1 || dilationH < 1 || dilationW < 1 || groups < 1
                || padTop < 0 || padBottom < 0 || padLeft < 0 || padRight < 0) {
            throw new IllegalArgumentException("invalid convolution geometry: " + this);
        }
    }

    /** PyTorch's {@code nn.Conv2d(stride=s, padding=p, dilation=d, groups=g)}. */
    public static Conv2dSpec symmetric(int stride, int padding, int dilation, int groups) {
        return new Conv2dSpec(stride, stride, padding, padding, padding, padding,
                dilation, dilation, groups);
    }

    /**
     * Output height for an input of height {@code h} and a kernel of height {@code kh}; zero or
     * less when the (dilated) kernel is taller than the padded input.
     */
    public int outH(int h, int kh) {
        // floor, not truncation: a kernel one row too tall with stride 2 leaves no output,
        // where (-1) / 2 + 1 would claim one
        return Math.floorDiv(h + padTop + padBottom - dilationH * (kh - 1) - 1, strideH) + 1;
    }

    /**
     * Output width for an input of width {@code w} and a kernel of width {@code kw}; zero or
     * less when the (dilated) kernel is wider than the padded input.
     */
    public int outW(int w, int kw) {
        return Math.floorDiv(w + padLeft + padRight - dilationW * (kw - 1) - 1, strideW) + 1;
    }
}
