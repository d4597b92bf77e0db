package dev.lumbar.engine.study;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Image files loose in a Kaggle study folder, beside its series folders. */
class StudyLooseFilesTest {

    @TempDir
    Path dir;

    private static StudyScan scan(Path root) throws StudyException {
        return new StudyScanner(DicomReader.standard(), SeriesDescriptions.none()).scan(root);
    }

    /** Moves (or copies) the files of {@code from} into {@code to}, prefixed so none clash. */
    private static int spill(Path from, Path to, String prefix, boolean move) throws IOException {
        int n = 0;
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.sorted().toList()) {
                Path target = to.resolve(prefix + f.getFileName());
                if (move) {
                    Files.move(f, target);
                } else {
                    Files.copy(f, target);
                }
                n++;
            }
        }
        if (move) {
            Files.delete(from);
        }
        return n;
    }

    private static List<String> seriesIds(Study study) {
        return study.series().stream().map(Series::id).sorted().toList();
    }

    @Test
    void anotherStudysLooseFilesAreLeftOutAndNeverGradedUnderThisStudy() throws Exception {
        Path input = dir.resolve("mix");
        PhantomStudy kept = PhantomGenerator.generate(PhantomOptions.of(41)
                .withStudyId("380411232"));
        PhantomStudy other = PhantomGenerator.generate(PhantomOptions.of(42)
                .withStudyId("1628174055"));
        Path keptDir = PhantomWriter.write(kept, input);
        Path otherDir = PhantomWriter.write(other, dir.resolve("elsewhere"));
        int copied = spill(otherDir.resolve(other.series().getFirst().seriesId()), keptDir,
                "", false);

        StudyScan scan = scan(input);
        assertEquals(List.of("380411232"), scan.studies().stream().map(Study::id).toList());
        Study study = scan.studies().getFirst();
        assertEquals(kept.series().stream().map(PhantomSeries::seriesId).sorted().toList(),
                seriesIds(study));
        for (PhantomSeries s : kept.series()) {
            assertEquals(s.type(), study.series().stream()
                    .filter(r -> r.id().equals(s.seriesId())).findFirst().orElseThrow().type());
            assertEquals(s.slices().size(), study.series().stream()
                    .filter(r -> r.id().equals(s.seriesId())).findFirst().orElseThrow()
                    .sliceCount());
        }
        assertTrue(study.warnings().stream().anyMatch(w -> w.startsWith("study folder 380411232:"
                + " " + copied + " loose image file(s)") && w.contains("another study")),
                study.warnings().toString());
    }

    @Test
    void looseFilesOfTheSameStudyBecomeTheirOwnSeriesBesideTheNamedFolders() throws Exception {
        Path input = dir.resolve("in");
        PhantomStudy phantom = PhantomGenerator.generate(PhantomOptions.of(43)
                .withStudyId("1832055296"));
        Path studyDir = PhantomWriter.write(phantom, input);
        PhantomSeries loose = phantom.series().getFirst();
        spill(studyDir.resolve(loose.seriesId()), studyDir, "x", true);
        // a folder already called like the first loose series: the loose one must not clash
        PhantomSeries renamed = phantom.series().get(1);
        Files.move(studyDir.resolve(renamed.seriesId()), studyDir.resolve("loose-1"));

        for (Path root : List.of(input, studyDir)) {
            Study study = scan(root).studies().getFirst();
            assertEquals("1832055296", study.id());
            assertEquals(List.of(phantom.series().get(2).seriesId(), "loose-1", "loose-2"),
                    seriesIds(study));
            Series read = study.series().stream().filter(s -> s.id().equals("loose-2"))
                    .findFirst().orElseThrow();
            assertEquals(loose.type(), read.type());
            assertEquals(loose.slices().size(), read.sliceCount());
            assertTrue(study.warnings().stream().anyMatch(w -> w.equals("study folder"
                    + " 1832055296: " + loose.slices().size() + " loose image file(s) beside"
                    + " the series folders, read as series loose-2")), study.warnings().toString());
        }
    }

    @Test
    void looseFilesOfAFoldersSeriesAreReadWithThatFolder() throws Exception {
        Path input = dir.resolve("in");
        PhantomStudy phantom = PhantomGenerator.generate(PhantomOptions.of(44)
                .withStudyId("4003253"));
        Path studyDir = PhantomWriter.write(phantom, input);
        PhantomSeries split = phantom.series().get(2);
        Path half = studyDir.resolve(split.seriesId());
        try (Stream<Path> files = Files.list(half)) {
            List<Path> all = files.sorted().toList();
            for (Path f : all.subList(0, all.size() / 2)) {
                Files.move(f, studyDir.resolve("y" + f.getFileName()));
            }
        }
        Study study = scan(input).studies().getFirst();
        assertEquals(phantom.series().stream().map(PhantomSeries::seriesId).sorted().toList(),
                seriesIds(study));
        assertEquals(split.slices().size(), study.series().stream()
                .filter(s -> s.id().equals(split.seriesId())).findFirst().orElseThrow()
                .sliceCount());
    }
}
