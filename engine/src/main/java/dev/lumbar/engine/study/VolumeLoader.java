package dev.lumbar.engine.study;

import dev.lumbar.engine.LimitExceededException;
import dev.lumbar.engine.Limits;
import dev.lumbar.engine.Redaction;
import dev.lumbar.engine.dicom.DicomException;
import dev.lumbar.engine.dicom.DicomImage;
import dev.lumbar.engine.dicom.DicomReader;
import dev.lumbar.engine.dicom.Tag;
import dev.lumbar.engine.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Decodes a stack into a float32 volume {@code [slices, rows, columns]} in position order, in
 * modality units: stored value × RescaleSlope + RescaleIntercept, read per file. MONOCHROME1
 * images are inverted within their stored range first, so bright always means high signal; RGB
 * and YBR images are reduced to luminance with a warning.
 *
 * <p>Nothing is allocated from what a header claims: a slice is decoded (the reader checks its
 * Rows and Columns against the pixel data it actually holds) before the volume is reserved, and
 * a volume beyond {@link #MAX_VOLUME_BYTES} is refused.
 */
public final class VolumeLoader {

    private static final ValueLayout.OfFloat F32_LE =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * The largest volume reserved (8 GiB of float32): spine MR stacks are a few hundred MB at
     * most, so anything bigger is a damaged or hostile header, not a study.
     */
    static final long MAX_VOLUME_BYTES = 8L << 30;

    private final DicomReader reader;
    private final Runnable beforeEachSlice;
    private long storedBytes;

    public VolumeLoader(DicomReader reader) {
        this(reader, () -> { });
    }

    /**
     * A loader that runs {@code beforeEachSlice} before it decodes each slice: a study's
     * deadline, which may throw to stop a study whose images take too long to decode.
     */
    public VolumeLoader(DicomReader reader, Runnable beforeEachSlice) {
        this.reader = reader;
        this.beforeEachSlice = beforeEachSlice;
    }

    /** Stored pixel bytes decoded so far: rows × columns × samples × bytes per sample. */
    public long storedBytesDecoded() {
        return storedBytes;
    }

    /**
     * A stack's decoded voxels {@code [slices, rows, columns]} and the stack of the slices they
     * hold: the one asked for, or that stack less the slices that could not be read.
     */
    public record Volume(Stack stack, Tensor voxels) implements AutoCloseable {
        @Override
        public void close() {
            voxels.close();
        }
    }

    /**
     * The volume of {@code stack}, every slice in it; a slice that cannot be read refuses the
     * stack. The caller owns and closes it.
     */
    public Tensor load(Stack stack, List<String> warnings) throws StudyException {
        return read(stack, warnings, false).voxels();
    }

    /**
     * The volume of what can be read of {@code stack}: a slice that cannot be decoded, or
     * whose size differs from most of the stack's, is left out with a warning, so that one
     * damaged file does not cost its whole series. The stack is refused when half of its
     * slices or more are left out: what remains is not the series that was acquired.
     */
    public Volume loadReadable(Stack stack, List<String> warnings) throws StudyException {
        return read(stack, warnings, true);
    }

    private Volume read(Stack stack, List<String> warnings, boolean leaveOut)
            throws StudyException {
        int[] size = leaveOut ? commonSize(stack) : new int[] {stack.rows(), stack.columns()};
        int rows = size[0];
        int columns = size[1];
        long plane = (long) rows * columns;
        List<Slice> kept = new ArrayList<>();
        List<String> leftOut = new ArrayList<>();
        Tensor volume = null;
        try {
            float[] values = null;
            Pixels pixels = new Pixels(stack, warnings);
            for (Slice slice : stack.slices()) {
                beforeEachSlice.run();
                DicomImage image;
                try {
                    image = decodeSized(stack, slice, rows, columns);
                } catch (StudyException e) {
                    leaveOutOrThrow(leaveOut, e, leftOut);
                    continue;
                }
                // nothing is reserved until a slice has proved its size by decoding
                if (volume == null) {
                    volume = reserve(stack, rows, columns, image.samplesPerPixel());
                    values = new float[(int) plane];
                }
                try {
                    pixels.modalityValues(image, shownName(slice), values);
                } catch (StudyException e) {
                    leaveOutOrThrow(leaveOut, e, leftOut);
                    continue;
                }
                storedBytes += plane * image.samplesPerPixel()
                        * ((image.bitsAllocated() + 7) / 8);
                MemorySegment.copy(values, 0, volume.segment(), F32_LE,
                        kept.size() * plane * Float.BYTES, values.length);
                kept.add(slice);
            }
            pixels.warnZeroSlopes();
            if (leftOut.isEmpty()) {
                return new Volume(stack, volume);
            }
            if (2 * kept.size() <= stack.size()) {
                String first = leftOut.getFirst();
                throw new StudyException(String.format(Locale.ROOT, "%s: %d of its %d slices"
                        + " cannot be read, the first: %s", stack.name(), leftOut.size(),
                        stack.size(), first.startsWith(stack.name() + ": ")
                                ? first.substring(stack.name().length() + 2) : first));
            }
            for (String problem : leftOut) {
                warnings.add(problem + "; the slice is left out");
            }
            warnings.add(String.format(Locale.ROOT, "%s: %d of its %d slices are used",
                    stack.name(), kept.size(), stack.size()));
            Tensor readable = Tensor.zeros(kept.size(), rows, columns);
            MemorySegment.copy(volume.segment(), 0, readable.segment(), 0,
                    readable.segment().byteSize());
            volume.close();
            return new Volume(new Stack(stack.name(), kept), readable);
        } catch (StudyException | RuntimeException e) {
            if (volume != null) {
                volume.close();
            }
            throw e;
        }
    }

    private static void leaveOutOrThrow(boolean leaveOut, StudyException problem,
            List<String> leftOut) throws StudyException {
        if (!leaveOut) {
            throw problem;
        }
        leftOut.add(problem.getMessage());
    }

    /** The image size most of the stack's headers give; the earliest such slice's on a tie. */
    private static int[] commonSize(Stack stack) {
        Map<List<Integer>, Integer> counts = new LinkedHashMap<>();
        for (Slice slice : stack.slices()) {
            counts.merge(List.of(slice.geometry().rows(), slice.geometry().columns()), 1,
                    Integer::sum);
        }
        List<Integer> common = null;
        for (Map.Entry<List<Integer>, Integer> e : counts.entrySet()) {
            if (common == null || e.getValue() > counts.get(common)) {
                common = e.getKey();
            }
        }
        return new int[] {common.get(0), common.get(1)};
    }

    /** Decodes {@code slice}, which must be {@code rows × columns} by its pixel data. */
    private DicomImage decodeSized(Stack stack, Slice slice, int rows, int columns)
            throws StudyException {
        String name = shownName(slice);
        if (slice.geometry().rows() != rows || slice.geometry().columns() != columns) {
            throw new StudyException(String.format(Locale.ROOT, "%s: slices of different"
                    + " size, %s is %dx%d but the stack's are %dx%d", stack.name(), name,
                    slice.geometry().rows(), slice.geometry().columns(), rows, columns));
        }
        DicomImage image = decode(stack, slice);
        if (image.rows() != rows || image.columns() != columns) {
            throw new StudyException(String.format(Locale.ROOT, "%s: slice %s is %dx%d by its"
                    + " pixel data but its header was read as %dx%d", stack.name(), name,
                    image.rows(), image.columns(), rows, columns));
        }
        return image;
    }

    /** A zeroed volume for every slice of the stack, refused when no spine study is as big. */
    private static Tensor reserve(Stack stack, int rows, int columns, int samples)
            throws StudyException {
        long plane = (long) rows * columns;
        long bytes = plane * stack.size() * Float.BYTES;
        if (plane * samples > Integer.MAX_VALUE - 64 || bytes > MAX_VOLUME_BYTES) {
            throw new StudyException(String.format(Locale.ROOT, "%s: a volume of %d slices of"
                    + " %dx%d needs %.1f GB, more than the %d GB a stack may take; the images"
                    + " are not a spine study's", stack.name(), stack.size(), rows, columns,
                    bytes / 1e9, MAX_VOLUME_BYTES >> 30));
        }
        try {
            Limits.current().requireMemoryForVolume(stack.name(), bytes);
        } catch (LimitExceededException e) {
            throw new StudyException(e.getMessage(), e);
        }
        try {
            return Tensor.zeros(stack.size(), rows, columns);
        } catch (OutOfMemoryError e) {
            throw new StudyException(String.format(Locale.ROOT, "%s: not enough memory for a"
                    + " volume of %d slices of %dx%d (%.1f GB)", stack.name(), stack.size(),
                    rows, columns, bytes / 1e9), e);
        }
    }

    /**
     * Turns decoded images into modality values, one plane at a time, reusing its buffer of
     * stored samples; warns once per stack about colour images.
     */
    private static final class Pixels {
        private final Stack stack;
        private final List<String> warnings;
        private float[] stored;
        private boolean colourWarned;
        private int zeroSlopes;
        private String firstZeroSlope;

        Pixels(Stack stack, List<String> warnings) {
            this.stack = stack;
            this.warnings = warnings;
        }

        void modalityValues(DicomImage image, String name, float[] values)
                throws StudyException {
            int samples = image.samplesPerPixel();
            if (samples != 1 && samples != 3) {
                throw new StudyException(stack.name() + ": slice " + name + " has "
                        + samples + " samples per pixel; 1 or 3 are supported");
            }
            if (stored == null || stored.length != values.length * samples) {
                stored = new float[Math.multiplyExact(values.length, samples)];
            }
            image.readFrame(0, stored);
            String photometric = image.photometricInterpretation() == null ? "MONOCHROME2"
                    : image.photometricInterpretation().strip();
            if (samples == 1) {
                System.arraycopy(stored, 0, values, 0, values.length);
                if (photometric.equals("MONOCHROME1")) {
                    invert(values, image);
                } else if (!photometric.equals("MONOCHROME2")) {
                    throw new StudyException(stack.name() + ": slice " + name + " has "
                            + photometric(photometric) + ", which is not supported");
                }
            } else {
                luminance(stored, values, colourModel(photometric, image), stack, name);
                if (!colourWarned) {
                    warnings.add(stack.name() + ": colour images (" + photometric(
                            photometric) + ") reduced to luminance");
                    colourWarned = true;
                }
            }
            boolean zeroSlope = rescale(values, image, stack, name);
            if (zeroSlope && zeroSlopes++ == 0) {
                firstZeroSlope = name;
            }
        }

        /** One warning for the slices whose RescaleSlope is 0, if any. */
        void warnZeroSlopes() {
            if (zeroSlopes > 0) {
                warnings.add(stack.name() + ": slice " + firstZeroSlope + (zeroSlopes > 1
                        ? " and " + (zeroSlopes - 1) + " other(s) have" : " has") + " RescaleSlope"
                        + " 0, which would make every pixel the intercept; their stored values"
                        + " are read with slope 1");
            }
        }
    }

    /** MONOCHROME1: the lowest stored value is white; mirror the values within their range. */
    private static void invert(float[] values, DicomImage image) {
        int bits = image.bitsStored();
        double low = image.signed() ? -Math.pow(2, bits - 1) : 0;
        double high = image.signed() ? Math.pow(2, bits - 1) - 1 : Math.pow(2, bits) - 1;
        float sum = (float) (low + high);
        for (int p = 0; p < values.length; p++) {
            values[p] = sum - values[p];
        }
    }

    /**
     * How the decoded samples are to be read. JPEG decoders hand back RGB even when the header
     * says YBR; native YBR data stays YBR.
     */
    private static String colourModel(String photometric, DicomImage image) {
        String syntax = image.header().transferSyntaxUid();
        boolean jpeg = syntax != null && syntax.startsWith("1.2.840.10008.1.2.4.");
        // LIMITATION: YBR inside a JPEG syntax is assumed decoded to RGB; a decoder that kept
        // YBR would have its Y sample weighted as red.
        return photometric.startsWith("YBR") && jpeg ? "RGB" : photometric;
    }

    /** ITU-R BT.601 luma from interleaved RGB; for YBR the first sample already is luma. */
    private static void luminance(float[] interleaved, float[] out, String photometric,
            Stack stack, String name) throws StudyException {
        if (photometric.equals("RGB")) {
            for (int p = 0; p < out.length; p++) {
                out[p] = 0.299f * interleaved[3 * p] + 0.587f * interleaved[3 * p + 1]
                        + 0.114f * interleaved[3 * p + 2];
            }
        } else if (photometric.startsWith("YBR")) {
            for (int p = 0; p < out.length; p++) {
                out[p] = interleaved[3 * p];
            }
        } else {
            throw new StudyException(stack.name() + ": slice " + name + " has 3 samples per"
                    + " pixel with " + photometric(photometric));
        }
    }

    /** A PhotometricInterpretation as it may be shown: only a defined term is named. */
    private static String photometric(String value) {
        return Redaction.definedTerm("photometric interpretation", value,
                Redaction.PHOTOMETRIC_INTERPRETATIONS);
    }

    /**
     * Stored values to modality units. A slope of 0 (a blank image, surely a writer's
     * mistake) is read as 1, and true is returned, for {@link Pixels} to warn. A slope or
     * intercept that is not a finite number, or that takes a value past the float range,
     * refuses the slice: its NaN or infinity would otherwise reach every normalised bag cut
     * from it and every probability graded from those.
     */
    private static boolean rescale(float[] values, DicomImage image, Stack stack, String name)
            throws StudyException {
        double[] slope = image.header().getDoubles(Tag.RescaleSlope);
        double[] intercept = image.header().getDoubles(Tag.RescaleIntercept);
        boolean zeroSlope = slope != null && slope.length > 0 && slope[0] == 0;
        double m = slope == null || slope.length == 0 || zeroSlope ? 1 : slope[0];
        double b = intercept == null || intercept.length == 0 ? 0 : intercept[0];
        if (!Double.isFinite(m) || !Double.isFinite(b)) {
            throw new StudyException(stack.name() + ": slice " + name + " has RescaleSlope "
                    + m + " and RescaleIntercept " + b + "; both must be finite numbers");
        }
        if (m == 1 && b == 0) {
            return zeroSlope;
        }
        float fm = (float) m;
        float fb = (float) b;
        boolean finite = true;
        for (int p = 0; p < values.length; p++) {
            values[p] = values[p] * fm + fb;
            finite &= Float.isFinite(values[p]);
        }
        if (!finite) {
            throw new StudyException(stack.name() + ": slice " + name + " has RescaleSlope "
                    + m + " and RescaleIntercept " + b + ", which take its pixel values past"
                    + " the float range");
        }
        return zeroSlope;
    }

    private DicomImage decode(Stack stack, Slice slice) throws StudyException {
        try {
            return reader.read(slice.file());
        } catch (DicomException e) {
            throw new StudyException(stack.name() + ": cannot decode slice " + shownName(slice)
                    + " (" + problem(e, slice) + ")", e);
        }
    }

    /** The slice's file name as it may be shown, with its InstanceNumber to find it by. */
    private static String shownName(Slice slice) {
        String name = slice.file().getFileName().toString();
        String shown = Redaction.name(name);
        return shown.equals(name) ? name : shown + " (instance " + slice.instanceNumber() + ")";
    }

    private static String problem(DicomException e, Slice slice) {
        String message = e.getMessage() == null ? "unreadable" : e.getMessage();
        String prefix = slice.file() + ": ";
        return Redaction.withoutUids(message.startsWith(prefix)
                ? message.substring(prefix.length()) : message);
    }
}
