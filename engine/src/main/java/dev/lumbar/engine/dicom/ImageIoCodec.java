package dev.lumbar.engine.dicom;

import com.twelvemonkeys.imageio.stream.ByteArrayImageInputStream;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Path;
import javax.imageio.ImageReader;
import javax.imageio.spi.IIORegistry;
import javax.imageio.spi.ImageReaderSpi;

/**
 * JPEG (baseline, extended, lossless) through TwelveMonkeys and JPEG 2000 through jai-imageio.
 * Frames are read as rasters, so the values are the codestream's own samples: no colour
 * conversion, no rescaling to 8 bits. The readers are made from their service providers
 * directly, so the JDK's own JPEG reader (no lossless, no 12-bit) is never picked by accident.
 *
 * <p>Lossless JPEG (8, 12 and 16 bit) and lossless JPEG 2000 give the exact stored values.
 * LIMITATION: colour JPEG frames come out as the codestream's components (YCbCr for
 * YBR_FULL_422), as PhotometricInterpretation says; converting them to RGB is the caller's job.
 * LIMITATION: lossy (irreversible 9/7) JPEG 2000 decodes to within 1 of OpenJPEG's values, not
 * bit for bit: the wavelet's rounding differs between decoders, as the standard allows.
 */
final class ImageIoCodec implements FrameCodec {

    private final String codecName;
    private final ImageReader reader;
    private int[] samples = new int[0];

    private ImageIoCodec(String codecName, ImageReaderSpi provider) throws IOException {
        this.codecName = codecName;
        this.reader = provider.createReaderInstance();
    }

    static ImageIoCodec jpeg() {
        return create("JPEG", com.twelvemonkeys.imageio.plugins.jpeg.JPEGImageReaderSpi.class);
    }

    static ImageIoCodec jpeg2000() {
        return create("JPEG 2000", com.github.jaiimageio.jpeg2000.impl.J2KImageReaderSpi.class);
    }

    private static ImageIoCodec create(String name, Class<? extends ImageReaderSpi> type) {
        // The registered instance: TwelveMonkeys wires its fallback reader at registration.
        ImageReaderSpi provider = IIORegistry.getDefaultInstance()
                .getServiceProviderByClass(type);
        if (provider == null) {
            throw new IllegalStateException("the " + name + " ImageIO plugin ("
                    + type.getName() + ") is not on the class path");
        }
        try {
            return new ImageIoCodec(name, provider);
        } catch (IOException e) {
            // The providers create readers without touching any input; this is a broken jar.
            throw new IllegalStateException("cannot create the " + name + " decoder", e);
        }
    }

    @Override
    public void decode(Path file, byte[] frame, int frameIndex, PixelFormat format,
            FrameSink sink) throws DicomException {
        try (ByteArrayImageInputStream input = new ByteArrayImageInputStream(frame)) {
            reader.setInput(input, true, true);

            // Compare the codestream's own size with the header before the decoder allocates.
            int width = reader.getWidth(0);
            int height = reader.getHeight(0);
            if (width != format.columns() || height != format.rows()) {
                throw new MalformedDicomException(file, "frame " + frameIndex + ": " + codecName
                        + " image is " + width + " x " + height + " but the header says "
                        + format.columns() + " x " + format.rows());
            }

            Raster raster = reader.canReadRaster() ? reader.readRaster(0, null)
                    : reader.read(0).getRaster();
            int bands = raster.getNumBands();
            if (bands != format.samplesPerPixel() || raster.getWidth() != width
                    || raster.getHeight() != height) {
                throw new MalformedDicomException(file, "frame " + frameIndex + ": " + codecName
                        + " image has " + bands + " component(s), the header says "
                        + format.samplesPerPixel());
            }
            int n = format.samplesPerFrame();
            if (samples.length < n) {
                samples = new int[n];
            }
            raster.getPixels(raster.getMinX(), raster.getMinY(), width, height, samples);
            for (int i = 0; i < n; i++) {
                sink.put(frameIndex, i, samples[i]);
            }
        } catch (DicomException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            // Decoders signal corrupt streams with all sorts of unchecked exceptions.
            throw new MalformedDicomException(file, "frame " + frameIndex + ": " + codecName
                    + " decoding failed: " + e, e);
        }
    }

    @Override
    public void close() {
        reader.dispose();
    }
}
