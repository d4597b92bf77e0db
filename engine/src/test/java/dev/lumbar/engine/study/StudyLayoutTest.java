package dev.lumbar.engine.study;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.dicom.DicomReader;
import dev.lumbar.engine.phantom.PatientTags;
import dev.lumbar.engine.phantom.PhantomGenerator;
import dev.lumbar.engine.phantom.PhantomOptions;
import dev.lumbar.engine.phantom.PhantomSeries;
import dev.lumbar.engine.phantom.PhantomStudy;
import dev.lumbar.engine.phantom.PhantomWriter;
import dev.lumbar.engine.spine.SeriesType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How study and series get their names from the folder layout, and series CSV row checks. */
class StudyLayoutTest {

    @TempDir
    Path dir;

    private static StudyScan scan(Path root, SeriesDescriptions csv) throws StudyException {
        return new StudyScanner(DicomReader.standard(), csv).scan(root);
    }

    private static void deleteTree(Path folder) throws IOException {
        try (Stream<Path> walk = Files.walk(folder)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    @Test
    void aStudyLeftWithOneSeriesFolderKeepsItsStudyFolderName() throws Exception {
        PhantomStudy kept = PhantomGenerator.generate(PhantomOptions.of(31)
                .withStudyId("1832055296"));
        PhantomStudy other = PhantomGenerator.generate(PhantomOptions.of(32)
                .withStudyId("4003253"));
        PhantomWriter.write(kept, dir);
        PhantomWriter.write(other, dir);
        for (PhantomSeries s : kept.series().subList(0, 2)) {
            deleteTree(dir.resolve(kept.studyId()).resolve(s.seriesId()));
        }
        // a stray file at another depth touches only the folder it sits in
        Files.writeString(dir.resolve(other.studyId()).resolve("notes.txt"), "not an image");

        StudyScan scan = scan(dir, SeriesDescriptions.none());
        Study study = scan.studies().stream().filter(s -> s.id().equals(kept.studyId()))
                .findFirst().orElseThrow(() -> new AssertionError(scan.studies().toString()));
        assertEquals(List.of(kept.series().get(2).seriesId()), study.series().stream()
                .map(Series::id).toList());
        // studies come in natural path order
        assertEquals(List.of("4003253", "1832055296"), scan.studies().stream().map(Study::id)
                .toList());
        // the whole study folder of the other one stays in the Kaggle layout except the stray
        // file, so its series keep their folder names in every warning
        Study otherRead = scan.studies().getFirst();
        assertEquals(other.series().stream().map(PhantomSeries::seriesId).sorted().toList(),
                otherRead.series().stream().map(Series::id).sorted().toList());
        assertTrue(otherRead.warnings().stream().noneMatch(w -> w.matches("series S\\d.*")),
                otherRead.warnings().toString());
    }

    @Test
    void oneStudyFolderWithOneSeriesIsStillNamedByTheStudyFolder() throws Exception {
        PhantomStudy phantom = PhantomGenerator.generate(PhantomOptions.of(33)
                .withStudyId("1832055296"));
        Path studyDir = PhantomWriter.write(phantom, dir);
        for (PhantomSeries s : phantom.series().subList(0, 2)) {
            deleteTree(studyDir.resolve(s.seriesId()));
        }
        StudyScan scan = scan(studyDir, SeriesDescriptions.none());
        assertEquals(List.of("1832055296"), scan.studies().stream().map(Study::id).toList());
        assertEquals(phantom.series().get(2).seriesId(), scan.studies().getFirst().series()
                .getFirst().id());
    }

    /**
     * Files that are not images deeper in a study folder (thumbnails, an output folder with
     * this program's reports) leave it one study named by its folder, its series by theirs, as
     * in a batch of studies, rather than splitting it into one study per series.
     */
    @Test
    void nonImageFilesDeeperInAStudyFolderLeaveItOneStudy() throws Exception {
        PhantomStudy phantom = PhantomGenerator.generate(PhantomOptions.of(38)
                .withStudyId("1832055296"));
        Path studyDir = PhantomWriter.write(phantom, dir);
        Path reports = Files.createDirectories(studyDir.resolve("out/reports"));
        Files.writeString(reports.resolve("1832055296.json"), "{}");
        Files.writeString(studyDir.resolve("out/submission.csv"), "row_id\n");
        Files.writeString(Files.createDirectories(studyDir.resolve(phantom.series().get(0)
                .seriesId()).resolve("thumbs")).resolve("a.txt"), "x");

        List<String> seriesIds = phantom.series().stream().map(PhantomSeries::seriesId)
                .sorted().toList();
        for (Path input : List.of(studyDir, dir)) {
            StudyScan scan = scan(input, SeriesDescriptions.none());
            assertEquals(List.of("1832055296"), scan.studies().stream().map(Study::id)
                    .toList(), input.toString());
            assertEquals(seriesIds, scan.studies().getFirst().series().stream()
                    .map(Series::id).sorted().toList(), input.toString());
        }
    }

    @Test
    void aDeviceOrADanglingLinkNamedLikeAnImageIsAWarningNotARead() throws Exception {
        PhantomStudy phantom = PhantomGenerator.generate(PhantomOptions.of(39)
                .withStudyId("1832055296"));
        Path studyDir = PhantomWriter.write(phantom, dir);
        Path series = studyDir.resolve(phantom.series().get(0).seriesId());
        // /dev/zero read as an image would never end
        Files.createSymbolicLink(series.resolve("900.dcm"), Path.of("/dev/zero"));
        Files.createSymbolicLink(series.resolve("901.dcm"), dir.resolve("nowhere.dcm"));

        StudyScan scan = scan(dir, SeriesDescriptions.none());
        assertEquals(3, scan.studies().getFirst().series().size());
        // the study's own warnings, so that they reach its report
        List<String> warnings = scan.studies().getFirst().warnings();
        String seriesPath = "1832055296/" + phantom.series().get(0).seriesId();
        assertTrue(warnings.contains(seriesPath + "/900.dcm: not a regular file (a pipe, socket"
                + " or device); skipped"), warnings.toString());
        assertTrue(warnings.contains(seriesPath + "/901.dcm: a link that leads nowhere;"
                + " skipped"), warnings.toString());
    }

    @Test
    void aStudyFolderWhoseSeriesFolderHoldsTwoSeriesStaysOneStudy() throws Exception {
        PhantomStudy phantom = PhantomGenerator.generate(PhantomOptions.of(37)
                .withStudyId("1832055296"));
        Path studyDir = PhantomWriter.write(phantom, dir);
        Path from = studyDir.resolve(phantom.series().get(1).seriesId());
        Path into = studyDir.resolve(phantom.series().get(0).seriesId());
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.toList()) {
                Files.move(f, into.resolve("b" + f.getFileName()));
            }
        }
        Files.delete(from);
        StudyScan scan = scan(studyDir, SeriesDescriptions.none());
        assertEquals(List.of("1832055296"), scan.studies().stream().map(Study::id).toList());
        assertTrue(scan.studies().getFirst().warnings().stream().anyMatch(w -> w.contains(
                "carry 2 different SeriesInstanceUIDs")), scan.studies().toString());
    }

    @Test
    void aFlatExportInsideTheInputIsNamedByItsFolderWithoutPersonNames() throws Exception {
        Path kaggle = dir.resolve("kaggle");
        Path root = dir.resolve("DOE^JOHN");
        long seed = 34;
        for (String folder : List.of("lumbar-mri", "SMITH^ANN")) {
            PhantomStudy phantom = PhantomGenerator.generate(PhantomOptions.of(seed++));
            PhantomWriter.write(phantom, kaggle);
            Path flat = Files.createDirectories(root.resolve(folder));
            int n = 0;
            try (Stream<Path> files = Files.walk(kaggle.resolve(phantom.studyId()))) {
                for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                    Files.copy(f, flat.resolve(String.format("IM%05d", n++)));
                }
            }
        }
        StudyScan scan = scan(root, SeriesDescriptions.none());
        List<String> ids = scan.studies().stream().map(Study::id).toList();
        assertEquals(2, ids.size(), ids.toString());
        // the person-named folder gets a tag of its StudyInstanceUID, never of the name
        assertTrue(ids.getFirst().matches("study-[0-9a-f]{6}"), ids.toString());
        assertEquals("lumbar-mri", ids.get(1));
        for (Study s : scan.studies()) {
            assertEquals(List.of("S1", "S2", "S3"), s.series().stream().map(Series::id)
                    .toList());
            assertTrue(s.warnings().stream().noneMatch(w -> w.contains("^")), s.warnings()
                    .toString());
        }
    }

    /**
     * A study's name starts its submission rows and is printed: a comma, a control character
     * or spaces at its ends are replaced, and the name gets a tag so it stays its own.
     */
    @Test
    void studyFolderNamesACsvOrAConsoleCannotHoldAreMadePlain() throws Exception {
        List<String> folders = List.of("a,b", " lead", "cr\rx");
        for (int i = 0; i < folders.size(); i++) {
            Path written = PhantomWriter.write(PhantomGenerator.generate(PhantomOptions.of(50 + i)
                    .withStudyId("s" + i)), dir);
            Files.move(written, dir.resolve(folders.get(i)));
        }
        List<String> ids = scan(dir, SeriesDescriptions.none()).studies().stream()
                .map(Study::id).sorted().toList();
        assertEquals(3, ids.size(), ids.toString());
        assertTrue(ids.get(0).matches("_lead-[0-9a-f]{6}"), ids.toString());
        assertTrue(ids.get(1).matches("a_b-[0-9a-f]{6}"), ids.toString());
        assertTrue(ids.get(2).matches("cr_x-[0-9a-f]{6}"), ids.toString());
    }

    /** Series folders named by SeriesInstanceUID are masked, and kept apart by a tag. */
    @Test
    void seriesFoldersNamedByUidAreMaskedAndStayApart() throws Exception {
        PhantomStudy phantom = PhantomGenerator.generate(PhantomOptions.of(43)
                .withStudyId("1832055296"));
        Path studyDir = PhantomWriter.write(phantom, dir);
        List<String> uids = List.of("1.2.826.0.1.3680043.8.498.11117527",
                "1.2.826.0.1.3680043.8.498.22227527", "SE_1.2.826.0.1.3680043.8.498.3");
        for (int i = 0; i < 3; i++) {
            Files.move(studyDir.resolve(phantom.series().get(i).seriesId()),
                    studyDir.resolve(uids.get(i)));
        }
        List<String> ids = scan(dir, SeriesDescriptions.none()).studies().getFirst().series()
                .stream().map(Series::id).sorted().toList();
        assertEquals(3, ids.size());
        assertTrue(ids.get(0).matches("SE_<uid withheld>-[0-9a-f]{6}"), ids.toString());
        assertTrue(ids.get(1).matches("…7527-[0-9a-f]{6}"), ids.toString());
        assertTrue(ids.get(2).matches("…7527-[0-9a-f]{6}"), ids.toString());
        assertFalse(ids.get(1).equals(ids.get(2)), ids.toString());
        assertEquals(ids, scan(dir, SeriesDescriptions.none()).studies().getFirst().series()
                .stream().map(Series::id).sorted().toList(), "the same names in every run");

        // a series CSV names the folders by their UIDs, and still types them
        Path csv = Files.writeString(dir.resolve("series.csv"), "study_id,series_id,"
                + "series_description\n1832055296," + uids.get(0) + ",Sagittal T1\n"
                + "1832055296,1.2.3.4.5.6,Sagittal T1\n");
        StudyScan typed = scan(dir, SeriesDescriptions.read(csv));
        Series first = typed.studies().getFirst().series().stream()
                .filter(se -> se.id().equals(StudyScanner.seriesName(uids.get(0))))
                .findFirst().orElseThrow();
        assertEquals(TypingRule.SERIES_CSV, first.typing().rule(), first.typing().reason());
        assertTrue(typed.warnings().stream().anyMatch(w -> w.contains("line 3: study"
                + " 1832055296 has no series ….5.6-")), typed.warnings().toString());
        assertTrue(typed.warnings().stream().noneMatch(w -> w.contains("1.2.3.4.5.6")),
                typed.warnings().toString());
    }

    @Test
    void aStudyFolderNamedByUidKeepsItsNameWhateverStudiesLieBesideIt() throws Exception {
        // --resume matches studies by name: a new study must never take the name that an
        // earlier run gave another one
        PhantomStudy first = PhantomGenerator.generate(PhantomOptions.of(41));
        PhantomWriter.write(first, dir.resolve("tmp"));
        Files.move(dir.resolve("tmp").resolve(first.studyId()),
                Files.createDirectories(dir.resolve("in")).resolve("9.8.7.6.27527"));
        List<String> before = scan(dir.resolve("in"), SeriesDescriptions.none()).studies()
                .stream().map(Study::id).toList();
        assertEquals(1, before.size());
        assertTrue(before.getFirst().matches("…7527-[0-9a-f]{6}"), before.toString());

        // a second study whose folder ends in the same four characters and sorts first
        PhantomStudy second = PhantomGenerator.generate(PhantomOptions.of(42));
        PhantomWriter.write(second, dir.resolve("tmp"));
        Files.move(dir.resolve("tmp").resolve(second.studyId()),
                dir.resolve("in").resolve("1.2.3.4.5.17527"));
        // and a copy of the first study, the same StudyInstanceUID, in a folder of its own
        PhantomWriter.write(first, dir.resolve("tmp"));
        Files.move(dir.resolve("tmp").resolve(first.studyId()),
                dir.resolve("in").resolve("0.1.2.37527"));
        List<String> after = scan(dir.resolve("in"), SeriesDescriptions.none()).studies()
                .stream().map(Study::id).toList();
        assertEquals(3, after.size());
        assertTrue(after.contains(before.getFirst()), after + " against " + before);
        assertTrue(after.stream().allMatch(id -> id.matches("…7527-[0-9a-f]{6}")), after
                .toString());
        assertEquals(3, Set.copyOf(after).size(), after.toString());
    }

    @Test
    void aStudyFolderNamedByThePatientsIdOrNameIsNotShown() throws Exception {
        PhantomStudy phantom = PhantomGenerator.generate(PhantomOptions.of(43));
        PatientTags patient = phantom.options().patient();
        String family = patient.name().substring(0, patient.name().indexOf('^'));
        PhantomWriter.write(phantom, dir.resolve("tmp"));
        Path byId = Files.createDirectories(dir.resolve("in")).resolve(patient.id());
        Files.move(dir.resolve("tmp").resolve(phantom.studyId()), byId);
        // a file cut short is named in a warning by its path, the study folder first
        try (Stream<Path> files = Files.walk(byId)) {
            Path cut = files.filter(Files::isRegularFile).sorted().findFirst().orElseThrow();
            byte[] bytes = Files.readAllBytes(cut);
            Files.write(cut, java.util.Arrays.copyOf(bytes, 700));
        }
        PhantomWriter.write(phantom, dir.resolve("tmp"));
        Files.move(dir.resolve("tmp").resolve(phantom.studyId()),
                dir.resolve("in").resolve(family + "_" + patient.birthDate()));

        StudyScan scan = scan(dir.resolve("in"), SeriesDescriptions.none());
        // what is shown of a study: its name, its series' names and the warnings
        String shown = scan.studies().stream().map(st -> st.id() + st.warnings() + st.series()
                .stream().map(Series::id).toList()).toList() + "" + scan.warnings();
        assertEquals(2, scan.studies().size(), shown);
        assertTrue(shown.contains(StudyScanner.FOLDER_WITHHELD + "/"), shown);
        for (Study study : scan.studies()) {
            assertTrue(study.id().matches("study(-[0-9a-f]{6})?(-2)?"), study.id());
        }
        assertFalse(shown.contains(patient.id()), shown);
        assertFalse(shown.contains(family), shown);
        assertFalse(shown.contains(patient.birthDate()), shown);
    }

    @Test
    void seriesCsvRowsThatMatchNothingOrAreMalformedAreWarnedWithTheirLine() throws Exception {
        PhantomStudy phantom = PhantomGenerator.generate(PhantomOptions.of(35)
                .withStudyId("1832055296"));
        PhantomWriter.write(phantom, dir);
        Path csv = dir.resolve(PhantomWriter.SERIES_CSV);
        Files.writeString(csv, "1832055296,999,Sagittal T1\n"
                + "777,1,Axial T2\n"
                + "1832055296,5,Sagittal,T2,extra\n"
                + "1832055296,6\n", java.nio.file.StandardOpenOption.APPEND);
        StudyScan scan = scan(dir, SeriesDescriptions.read(csv));
        String all = String.join("\n", scan.warnings());
        assertTrue(all.contains(PhantomWriter.SERIES_CSV + " line 5: study 1832055296 has no"
                + " series 999"), all);
        assertTrue(all.contains("1 row(s) name 1 study not in the input (line 6)"), all);
        assertTrue(all.contains(PhantomWriter.SERIES_CSV + " line 7: 5 fields where the header"
                + " has 3; row ignored"), all);
        assertTrue(all.contains(PhantomWriter.SERIES_CSV + " line 8: 2 fields"), all);
        assertEquals(4, scan.warnings().size(), all);
        // the good rows still type every series
        for (Series s : scan.studies().getFirst().series()) {
            assertEquals(TypingRule.SERIES_CSV, s.typing().rule());
        }
    }

    @Test
    void swappedCsvLabelsAreOverruledByGeometryAndTiming() throws Exception {
        PhantomStudy phantom = PhantomGenerator.generate(PhantomOptions.of(36)
                .withStudyId("1832055296"));
        PhantomWriter.write(phantom, dir);
        String sagT1 = phantom.series().stream().filter(s -> s.type() == SeriesType.SAG_T1)
                .findFirst().orElseThrow().seriesId();
        String axT2 = phantom.series().stream().filter(s -> s.type() == SeriesType.AX_T2)
                .findFirst().orElseThrow().seriesId();
        String sagT2 = phantom.series().stream().filter(s -> s.type() == SeriesType.SAG_T2)
                .findFirst().orElseThrow().seriesId();
        Path csv = dir.resolve("swapped.csv");
        Files.writeString(csv, "study_id,series_id,series_description\n"
                + "1832055296," + sagT1 + ",Axial T2\n"
                + "1832055296," + axT2 + ",Sagittal T1\n"
                + "1832055296," + sagT2 + ",Sagittal T2/STIR\n");
        Study study = scan(dir, SeriesDescriptions.read(csv)).studies().getFirst();
        for (PhantomSeries made : phantom.series()) {
            Series read = study.series().stream().filter(s -> s.id().equals(made.seriesId()))
                    .findFirst().orElseThrow();
            assertEquals(made.type(), read.type(), read.typing().reason());
        }
        assertTrue(study.warnings().stream().anyMatch(w -> w.startsWith("series " + sagT1)
                && w.contains("names the axial plane but the images are sagittal")
                && w.contains("the timing the weighting") && w.contains("TR ")),
                study.warnings().toString());
        assertTrue(study.warnings().stream().noneMatch(w -> w.contains("typed")),
                study.warnings().toString());
    }
}
