package dev.lumbar.engine.io;

import dev.lumbar.engine.Limits;
import dev.lumbar.engine.Redaction;
import dev.lumbar.engine.tensor.DType;
import dev.lumbar.engine.tensor.Device;
import dev.lumbar.engine.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A safetensors file, memory-mapped read-only; its tensors are zero-copy views of the mapping.
 *
 * <p>The format: an unsigned 64-bit little-endian header length N, N bytes of UTF-8 JSON (an
 * object mapping each tensor name to {@code dtype}, {@code shape} and {@code data_offsets}
 * [begin, end) relative to the data area, plus an optional {@code __metadata__} object of
 * strings), then the data area, which the tensors tile exactly: sorted by offset, each begins
 * where the previous one ends, the first at 0 and the last at the end of the file. Every rule
 * is checked at {@link #open} before a tensor is handed out.
 *
 * <p>The file object owns the mapping's (shared) arena: views stay valid until {@link #close},
 * may be read from any thread meanwhile, and fail with {@link IllegalStateException} after.
 */
public final class Safetensors implements AutoCloseable {

    /**
     * Largest header accepted by default ({@link Limits#safetensorsHeaderBytes()} is the one in
     * force): bigger ones are corrupt or hostile, never real checkpoints.
     */
    public static final long MAX_HEADER_BYTES = Limits.DEFAULTS.safetensorsHeaderBytes();

    private static final System.Logger LOG = System.getLogger(Safetensors.class.getName());
    private static final String METADATA_KEY = "__metadata__";
    private static final Set<String> ENTRY_KEYS = Set.of("dtype", "shape", "data_offsets");
    private static final ValueLayout.OfShort HALF =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT =
            ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat FLOAT =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble DOUBLE =
            ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** One tensor's header entry; offsets are relative to the data area. */
    public record Entry(String name, DType dtype, long[] shape, long begin, long end) {
        public Entry {
            shape = shape.clone();
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }

        public long byteSize() {
            return end - begin;
        }
    }

    private final Path file;
    private final Arena arena;
    private final MemorySegment dataArea;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private Safetensors(Path file, Arena arena, MemorySegment dataArea,
            Map<String, Entry> entries, Map<String, String> metadata) {
        this.file = file;
        this.arena = arena;
        this.dataArea = dataArea;
        this.entries = entries;
        this.metadata = metadata;
    }

    /** Opens, validates and maps {@code file}; the caller closes the result. */
    public static Safetensors open(Path file) throws IOException {
        if (Files.isDirectory(file)) {
            throw new SafetensorsException(file, "is a folder, not a safetensors file");
        }
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long fileSize = channel.size();

            // header length, bounded by the file and by the limit before anything is read
            if (fileSize < 8) {
                throw new SafetensorsException(file, "file is " + fileSize
                        + " bytes long, too short for the 8-byte header length");
            }
            ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(channel, lengthBytes, 0, file);
            long headerLength = lengthBytes.getLong(0);
            long maxHeader = Limits.current().safetensorsHeaderBytes();
            if (headerLength < 0 || headerLength > maxHeader) {
                throw new SafetensorsException(file, "header length "
                        + Long.toUnsignedString(headerLength) + " bytes exceeds the limit of "
                        + maxHeader + " bytes (raise it with"
                        + " -Dlumbar.limit.safetensorsHeaderBytes=...)");
            }
            if (headerLength > fileSize - 8) {
                throw new SafetensorsException(file, "header length " + headerLength
                        + " bytes runs past the end of the file (" + fileSize + " bytes)");
            }

            // header JSON
            ByteBuffer headerBytes = ByteBuffer.allocate((int) headerLength);
            readFully(channel, headerBytes, 8, file);
            Object header = parseHeader(file, headerBytes.flip());

            // entries, each checked alone, then together against the data area
            long dataStart = 8 + headerLength;
            long dataSize = fileSize - dataStart;
            Map<String, String> metadata = new LinkedHashMap<>();
            Map<String, Entry> entries = readEntries(file, header, dataSize, metadata);
            checkTiling(file, entries.values(), dataSize);

            // map the whole file; the arena outlives the channel
            Arena arena = Arena.ofShared();
            try {
                MemorySegment mapping = channel.map(FileChannel.MapMode.READ_ONLY, 0, fileSize,
                        arena);
                LOG.log(System.Logger.Level.DEBUG, "mapped {0}: {1} tensors, {2} data bytes",
                        file, entries.size(), dataSize);
                return new Safetensors(file, arena, mapping.asSlice(dataStart, dataSize),
                        Collections.unmodifiableMap(entries),
                        Collections.unmodifiableMap(metadata));
            } catch (IOException | RuntimeException e) {
                arena.close();
                throw e;
            }
        }
    }

    public Path file() {
        return file;
    }

    /** Tensor names in header order. */
    public Set<String> names() {
        return entries.keySet();
    }

    public boolean contains(String name) {
        return entries.containsKey(name);
    }

    /** Header entries by name, in header order. */
    public Map<String, Entry> entries() {
        return entries;
    }

    public Entry entry(String name) throws SafetensorsException {
        Entry entry = entries.get(name);
        if (entry == null) {
            throw new SafetensorsException(file, name, "no such tensor in the file");
        }
        return entry;
    }

    /** The {@code __metadata__} strings, empty when the header has none. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** A zero-copy view of the mapped tensor; valid until this file is closed. */
    public Tensor view(String name) throws SafetensorsException {
        Entry entry = entry(name);
        requireOpen();
        return Tensor.wrap(dataArea.asSlice(entry.begin(), entry.byteSize()), entry.dtype(),
                Device.CPU, entry.shape());
    }

    /** An owned F32 copy of the tensor: F16 and BF16 widen exactly, F64 rounds to nearest. */
    public Tensor f32(String name) throws SafetensorsException {
        Entry entry = entry(name);
        requireOpen();
        MemorySegment source = dataArea.asSlice(entry.begin(), entry.byteSize());
        long n = Tensor.numel(entry.shape());
        Tensor out = Tensor.allocate(DType.F32, entry.shape());
        MemorySegment target = out.segment();
        switch (entry.dtype()) {
            case F32 -> MemorySegment.copy(source, 0, target, 0, source.byteSize());
            case F16 -> {
                for (long i = 0; i < n; i++) {
                    target.setAtIndex(FLOAT, i,
                            Float.float16ToFloat(source.getAtIndex(HALF, i)));
                }
            }
            case BF16 -> {
                // bfloat16 is the top half of an IEEE float32: widening is a 16-bit shift.
                for (long i = 0; i < n; i++) {
                    target.setAtIndex(FLOAT, i,
                            Float.intBitsToFloat(source.getAtIndex(HALF, i) << 16));
                }
            }
            case F64 -> {
                for (long i = 0; i < n; i++) {
                    target.setAtIndex(FLOAT, i, (float) source.getAtIndex(DOUBLE, i));
                }
            }
            default -> {
                out.close();
                throw new SafetensorsException(file, name, "is " + entry.dtype()
                        + "; only F32, F16, BF16 and F64 tensors convert to F32");
            }
        }
        return out;
    }

    /**
     * How many of a floating-point tensor's values are NaN or infinite: those whose exponent
     * bits are all ones, in the tensor's own width. Zero for integer dtypes.
     */
    public long nonFiniteCount(String name) throws SafetensorsException {
        Entry entry = entry(name);
        requireOpen();
        MemorySegment data = dataArea.asSlice(entry.begin(), entry.byteSize());
        long n = Tensor.numel(entry.shape());
        long count = 0;
        switch (entry.dtype()) {
            case F32 -> {
                for (long i = 0; i < n; i++) {
                    count += (data.getAtIndex(INT, i) & 0x7f80_0000) == 0x7f80_0000 ? 1 : 0;
                }
            }
            case F16 -> {
                for (long i = 0; i < n; i++) {
                    count += (data.getAtIndex(HALF, i) & 0x7c00) == 0x7c00 ? 1 : 0;
                }
            }
            case BF16 -> {
                for (long i = 0; i < n; i++) {
                    count += (data.getAtIndex(HALF, i) & 0x7f80) == 0x7f80 ? 1 : 0;
                }
            }
            case F64 -> {
                for (long i = 0; i < n; i++) {
                    count += Double.isFinite(data.getAtIndex(DOUBLE, i)) ? 0 : 1;
                }
            }
            default -> { }
        }
        return count;
    }

    /** Unmaps the file; views handed out earlier become unusable. */
    @Override
    public void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }

    private void requireOpen() {
        if (!arena.scope().isAlive()) {
            throw new IllegalStateException(file + ": safetensors file is closed");
        }
    }

    /**
     * Writes {@code tensors} (CPU tensors, laid out in iteration order) and {@code metadata} as
     * a safetensors file, replacing {@code file} atomically. The header is padded with spaces
     * to a multiple of 8 bytes so that the data area, and so every F32 tensor in a file of
     * F32 tensors, stays aligned in the mapping.
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata)
            throws IOException {
        Map<String, Object> header = new LinkedHashMap<>();
        if (metadata != null && !metadata.isEmpty()) {
            header.put(METADATA_KEY, new LinkedHashMap<>(metadata));
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> named : tensors.entrySet()) {
            String name = named.getKey();
            Tensor tensor = named.getValue();
            if (name.isEmpty() || name.equals(METADATA_KEY)) {
                throw new SafetensorsException(file, name, "is not a valid tensor name");
            }
            if (!tensor.device().isCpu()) {
                throw new SafetensorsException(file, name, "lives on " + tensor.device()
                        + "; copy it to the CPU before writing");
            }
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("dtype", tensor.dtype().safetensorsName());
            entry.put("shape", Arrays.stream(tensor.shape()).boxed().toList());
            entry.put("data_offsets", List.of(offset, offset + tensor.byteSize()));
            header.put(name, entry);
            offset += tensor.byteSize();
        }
        byte[] json = Json.write(header).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) & ~7;
        ByteBuffer prefix = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        prefix.putLong(padded).put(json);
        while (prefix.hasRemaining()) {
            prefix.put((byte) ' ');
        }

        AtomicFile.write(file, channel -> {
            AtomicFile.writeFully(channel, prefix.flip());
            for (Tensor tensor : tensors.values()) {
                MemorySegment data = tensor.segment();
                long chunk = 1L << 26;
                for (long at = 0; at < data.byteSize(); at += chunk) {
                    long length = Math.min(chunk, data.byteSize() - at);
                    AtomicFile.writeFully(channel, data.asSlice(at, length).asByteBuffer());
                }
            }
        });
    }

    // ---------------------------------------------------------------- validation

    private static Object parseHeader(Path file, ByteBuffer bytes) throws SafetensorsException {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(bytes)
                    .toString();
        } catch (CharacterCodingException e) {
            throw new SafetensorsException(file, "header is not valid UTF-8");
        }
        try {
            return Json.parse(text);
        } catch (JsonException e) {
            throw new SafetensorsException(file, "header is not valid JSON: " + e.getMessage());
        }
    }

    private static Map<String, Entry> readEntries(Path file, Object header, long dataSize,
            Map<String, String> metadata) throws SafetensorsException {
        if (!(header instanceof Map<?, ?> root)) {
            throw new SafetensorsException(file, "header is not a JSON object");
        }
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (Map.Entry<?, ?> item : root.entrySet()) {
            String name = (String) item.getKey();
            if (name.equals(METADATA_KEY)) {
                readMetadata(file, item.getValue(), metadata);
            } else if (!Redaction.printable(name).equals(name)) {
                // a name is printed in listings and errors: a line break in it could forge
                // a line of output, and no state dict's names hold one
                throw new SafetensorsException(file, "a tensor name holds a control character"
                        + " (" + Redaction.printable(name) + ")");
            } else {
                entries.put(name, readEntry(file, name, item.getValue(), dataSize));
            }
        }
        return entries;
    }

    private static void readMetadata(Path file, Object value, Map<String, String> metadata)
            throws SafetensorsException {
        if (!(value instanceof Map<?, ?> map)) {
            throw new SafetensorsException(file, "__metadata__ is not a JSON object");
        }
        for (Map.Entry<?, ?> item : map.entrySet()) {
            if (!(item.getValue() instanceof String text)) {
                throw new SafetensorsException(file, "__metadata__ value of '" + item.getKey()
                        + "' is not a string");
            }
            // metadata is free text, printed by check: control characters are shown as ?
            metadata.put(Redaction.printable((String) item.getKey()),
                    Redaction.printable(text));
        }
    }

    private static Entry readEntry(Path file, String name, Object value, long dataSize)
            throws SafetensorsException {
        if (!(value instanceof Map<?, ?> fields)) {
            throw new SafetensorsException(file, name, "header entry is not a JSON object");
        }
        if (!fields.keySet().equals(ENTRY_KEYS)) {
            throw new SafetensorsException(file, name, "header entry has keys "
                    + fields.keySet() + "; expected exactly dtype, shape and data_offsets");
        }

        // dtype
        DType dtype = null;
        for (DType candidate : DType.values()) {
            if (candidate.safetensorsName().equals(fields.get("dtype"))) {
                dtype = candidate;
            }
        }
        if (dtype == null) {
            // LIMITATION: F8_E4M3, F8_E5M2, unsigned 16-64 bit and complex tensors are refused
            // with this error; the networks the engine runs are stored in F32, F16 or BF16.
            throw new SafetensorsException(file, name, "unsupported dtype "
                    + describe(fields.get("dtype")) + "; supported: "
                    + Arrays.toString(DType.values()));
        }

        // shape and the byte count it implies
        long[] shape = nonNegativeLongs(file, name, "shape", fields.get("shape"), -1);
        long bytes;
        try {
            bytes = Math.multiplyExact(Tensor.numel(shape), (long) dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new SafetensorsException(file, name, "shape " + Arrays.toString(shape)
                    + " is too large to address");
        }

        // offsets: inside the data area and exactly the size the shape needs
        long[] offsets = nonNegativeLongs(file, name, "data_offsets",
                fields.get("data_offsets"), 2);
        long begin = offsets[0];
        long end = offsets[1];
        if (begin > end || end > dataSize) {
            throw new SafetensorsException(file, name, "data_offsets [" + begin + ", " + end
                    + ") lie outside the data area of " + dataSize + " bytes");
        }
        if (end - begin != bytes) {
            throw new SafetensorsException(file, name, "data_offsets [" + begin + ", " + end
                    + ") hold " + (end - begin) + " bytes but shape " + Arrays.toString(shape)
                    + " of " + dtype + " needs " + bytes);
        }
        return new Entry(name, dtype, shape, begin, end);
    }

    private static long[] nonNegativeLongs(Path file, String name, String field, Object value,
            int expectedLength) throws SafetensorsException {
        if (!(value instanceof List<?> list)
                || (expectedLength >= 0 && list.size() != expectedLength)) {
            throw new SafetensorsException(file, name, field + " is "
                    + describe(value) + ", not a list of "
                    + (expectedLength >= 0 ? expectedLength + " " : "") + "integers");
        }
        long[] out = new long[list.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(list.get(i) instanceof Long v) || v < 0) {
                throw new SafetensorsException(file, name, field + " holds "
                        + describe(list.get(i)) + ", not a non-negative integer");
            }
            out[i] = v;
        }
        return out;
    }

    /** Sorted by offset, the tensors must cover [0, dataSize) with no gap and no overlap. */
    private static void checkTiling(Path file, java.util.Collection<Entry> entries,
            long dataSize) throws SafetensorsException {
        List<Entry> sorted = new ArrayList<>(entries);
        sorted.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        long covered = 0;
        Entry previous = null;
        for (Entry entry : sorted) {
            if (entry.begin() < covered) {
                throw new SafetensorsException(file, entry.name(), "data_offsets ["
                        + entry.begin() + ", " + entry.end() + ") overlap tensor '"
                        + previous.name() + "' [" + previous.begin() + ", " + previous.end()
                        + ")");
            }
            if (entry.begin() > covered) {
                throw new SafetensorsException(file, entry.name(), "gap of "
                        + (entry.begin() - covered) + " bytes before its data_offsets ["
                        + entry.begin() + ", " + entry.end() + ")"
                        + (previous == null ? "" : " after tensor '" + previous.name() + "'"));
            }
            covered = entry.end();
            previous = entry;
        }
        if (covered != dataSize) {
            throw new SafetensorsException(file, previous == null ? null : previous.name(),
                    (dataSize - covered) + " bytes at the end of the data area belong to no "
                    + "tensor" + (previous == null ? "" : " (this is the last tensor)"));
        }
    }

    private static String describe(Object value) {
        if (value == null) {
            return "null";
        }
        String text = value instanceof String s ? "'" + s + "'" : value.toString();
        return text.length() <= 60 ? text : text.substring(0, 57) + "...";
    }

    private static void readFully(FileChannel channel, ByteBuffer buffer, long position,
            Path file) throws IOException {
        long at = position;
        while (buffer.hasRemaining()) {
            int read = channel.read(buffer, at);
            if (read < 0) {
                throw new SafetensorsException(file, "file ended while reading its header");
            }
            at += read;
        }
    }
}
