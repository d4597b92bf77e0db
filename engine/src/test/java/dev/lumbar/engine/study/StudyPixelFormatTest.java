package dev.lumbar.engine.study;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.dicom.DicomReader;
import dev.lumbar.engine.phantom.PhantomGenerator;
import dev.lumbar.engine.phantom.PhantomOptions;
import dev.lumbar.engine.phantom.PhantomSeries;
import dev.lumbar.engine.phantom.PhantomStudy;
import dev.lumbar.engine.phantom.PhantomWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** A series whose pixel format the decoder cannot read is described as such at scan time. */
class StudyPixelFormatTest {

    @TempDir
    Path dir;

    /**
     * Overwrites one US element (group 0028) of an explicit VR little endian file in place,
     * found by its tag, VR and length bytes.
     */
    private static void setUnsignedShort(Path file, int element, int value) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        byte[] key = {0x28, 0x00, (byte) element, (byte) (element >> 8), 'U', 'S', 2, 0};
        for (int i = 0; i + key.length + 2 <= bytes.length; i++) {
            if (java.util.Arrays.equals(bytes, i, i + key.length, key, 0, key.length)) {
                bytes[i + key.length] = (byte) value;
                bytes[i + key.length + 1] = (byte) (value >> 8);
                Files.write(file, bytes);
                return;
            }
        }
        throw new AssertionError(file + ": element (0028," + element + ") not found");
    }

    @ParameterizedTest
    @CsvSource({"256, 1, BitsAllocated 1", "256, 64, BitsAllocated 64",
            "2, 9, SamplesPerPixel 9"})
    void aSeriesInAPixelFormatNobodyDecodesIsUndecidedWithAWarning(int element, int value,
            String named) throws Exception {
        PhantomStudy phantom = PhantomGenerator.generate(PhantomOptions.of(51)
                .withStudyId("1832055296"));
        Path studyDir = PhantomWriter.write(phantom, dir);
        PhantomSeries broken = phantom.series().getFirst();
        try (Stream<Path> files = Files.list(studyDir.resolve(broken.seriesId()))) {
            for (Path f : files.toList()) {
                setUnsignedShort(f, element, value);
            }
        }
        Study study = new StudyScanner(DicomReader.standard(), SeriesDescriptions.none())
                .scan(dir).studies().getFirst();
        Series read = study.series().stream().filter(s -> s.id().equals(broken.seriesId()))
                .findFirst().orElseThrow();
        assertFalse(read.typing().decided(), read.typing().reason());
        assertTrue(study.warnings().stream().anyMatch(w -> w.startsWith("series "
                + broken.seriesId() + ": type undecided") && w.contains(named)
                && w.contains("cannot be decoded")), study.warnings().toString());
        // the other series are untouched
        assertEquals(List.of(), study.series().stream().filter(s -> s != read)
                .filter(s -> !s.typing().decided()).toList());
    }
}
