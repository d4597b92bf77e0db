package dev.lumbar.engine.dicom;

import dev.lumbar.engine.Redaction;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;

/**
 * Turns located pixel data into stored values: native (uncompressed) data directly, encapsulated
 * data frame by frame through the codec its transfer syntax names.
 */
final class PixelDecoder {

    /**
     * Encapsulated data may decode to at most this many times its size; no codec in use gets
     * near it on real images, and it keeps a forged header from claiming gigabytes.
     */
    private static final long MAX_COMPRESSION_RATIO = 2000;

    private PixelDecoder() {
    }

    static DecodedImage decode(Path file, DataSetParser.Result parsed) throws DicomException {
        ParsedDataSet header = parsed.header();
        if (!parsed.hasPixelData()) {
            throw new NoPixelDataException(file, "no Pixel Data element "
                    + Tag.toString(Tag.PixelData) + " (" + Redaction.definedTerm("modality",
                            header.getString(Tag.Modality), Redaction.MODALITIES) + ")");
        }
        PixelFormat format = PixelFormat.of(file, header);
        String syntax = header.transferSyntaxUid();

        if (!parsed.encapsulated()) {
            // LIMITATION: native data under a compressed syntax (a meta header left as it
            // was) is read as native when its length fits, and nothing says so.
            return decodeNative(file, parsed, format);
        }
        FrameCodec codec = switch (syntax) {
            case TransferSyntax.RLE_LOSSLESS -> new RleCodec();
            case TransferSyntax.JPEG_BASELINE, TransferSyntax.JPEG_EXTENDED,
                    TransferSyntax.JPEG_LOSSLESS, TransferSyntax.JPEG_LOSSLESS_SV1 ->
                    ImageIoCodec.jpeg();
            case TransferSyntax.JPEG_2000_LOSSLESS, TransferSyntax.JPEG_2000 ->
                    ImageIoCodec.jpeg2000();
            // LIMITATION: JPEG-LS, JPEG XL, HTJ2K and video syntaxes have no decoder here.
            default -> throw new UnsupportedTransferSyntaxException(file, syntax);
        };

        long encodedBytes = 0;
        for (long length : parsed.fragmentLengths()) {
            encodedBytes += length;
        }
        long decodedBytes = format.totalSamples() * (format.bitsAllocated() / 8);
        if (decodedBytes > encodedBytes * MAX_COMPRESSION_RATIO + (1 << 20)) {
            throw new MalformedDicomException(file, "header claims " + decodedBytes
                    + " bytes of pixels from only " + encodedBytes + " compressed bytes");
        }
        byte[][] frames = FrameSplitter.split(file, parsed, format.frames(), syntax);
        FrameSink sink = new FrameSink(format);
        try {
            for (int f = 0; f < frames.length; f++) {
                codec.decode(file, frames[f], f, format, sink);
            }
        } finally {
            codec.close();
        }
        return sink.image(header);
    }

    private static DecodedImage decodeNative(Path file, DataSetParser.Result parsed,
            PixelFormat format) throws DicomException {
        int bytesPerSample = format.bitsAllocated() / 8;
        long needed = format.totalSamples() * bytesPerSample;
        if (parsed.pixelLength() < needed) {
            throw new MalformedDicomException(file, "pixel data holds " + parsed.pixelLength()
                    + " bytes but " + format.frames() + " frame(s) of " + format.rows() + " x "
                    + format.columns() + " x " + format.samplesPerPixel() + " need " + needed);
        }
        MemorySegment source = parsed.source();
        long offset = parsed.pixelOffset();
        int n = (int) format.totalSamples();
        // Words of OW data follow the data set's byte order; OB data is a plain byte stream.
        ByteOrder order = parsed.bigEndian() && parsed.pixelVr() != Vr.OB
                ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
        boolean rawIsFinal = format.highBit() == format.bitsAllocated() - 1
                && format.bitsStored() == format.bitsAllocated();

        short[] shorts = null;
        int[] ints = null;
        if (bytesPerSample == 1) {
            shorts = new short[n];
            for (int i = 0; i < n; i++) {
                shorts[i] = (short) format.storedValue(
                        source.get(ValueLayout.JAVA_BYTE, offset + i) & 0xFF);
            }
        } else if (bytesPerSample == 2) {
            shorts = new short[n];
            MemorySegment.copy(source, ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(order),
                    offset, shorts, 0, n);
            if (!rawIsFinal) {
                for (int i = 0; i < n; i++) {
                    shorts[i] = (short) format.storedValue(shorts[i] & 0xFFFF);
                }
            }
        } else {
            ints = new int[n];
            MemorySegment.copy(source, ValueLayout.JAVA_INT_UNALIGNED.withOrder(order),
                    offset, ints, 0, n);
            if (!rawIsFinal) {
                for (int i = 0; i < n; i++) {
                    ints[i] = format.storedValue(ints[i]);
                }
            }
            if (format.bitsStored() <= 16) {
                shorts = new short[n];
                for (int i = 0; i < n; i++) {
                    shorts[i] = (short) ints[i];
                }
                ints = null;
            }
        }

        if (format.planarConfiguration() == 1 && format.samplesPerPixel() > 1) {
            interleave(format, shorts, ints);
        }
        return new DecodedImage(parsed.header(), format, shorts, ints);
    }

    /** Planar configuration 1 stores each frame as whole colour planes; make it interleaved. */
    private static void interleave(PixelFormat format, short[] shorts, int[] ints) {
        int perFrame = format.samplesPerFrame();
        int pixels = format.rows() * format.columns();
        int samples = format.samplesPerPixel();
        if (shorts != null) {
            short[] planes = new short[perFrame];
            for (int f = 0; f < format.frames(); f++) {
                System.arraycopy(shorts, f * perFrame, planes, 0, perFrame);
                for (int p = 0; p < pixels; p++) {
                    for (int s = 0; s < samples; s++) {
                        shorts[f * perFrame + p * samples + s] = planes[s * pixels + p];
                    }
                }
            }
        } else {
            int[] planes = new int[perFrame];
            for (int f = 0; f < format.frames(); f++) {
                System.arraycopy(ints, f * perFrame, planes, 0, perFrame);
                for (int p = 0; p < pixels; p++) {
                    for (int s = 0; s < samples; s++) {
                        ints[f * perFrame + p * samples + s] = planes[s * pixels + p];
                    }
                }
            }
        }
    }
}
