package dev.lumbar.engine.study;

import dev.lumbar.engine.Limits;
import dev.lumbar.engine.Redaction;
import dev.lumbar.engine.dicom.DicomException;
import dev.lumbar.engine.dicom.DicomObject;
import dev.lumbar.engine.dicom.DicomReader;
import dev.lumbar.engine.dicom.Tag;
import dev.lumbar.engine.dicom.TransferSyntax;
import dev.lumbar.engine.io.IoProblems;
import dev.lumbar.engine.spine.SeriesType;
import java.io.IOException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.FileVisitOption;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Finds the studies under a folder and reads them into {@link Study} values, headers only.
 *
 * <p>Layouts, decided per folder of the input: a folder of the input whose images all sit one
 * folder deeper is a study in the Kaggle layout ({@code <root>/<study>/<series>/<n>.dcm}), named
 * by its folder, its series by theirs, even when only one series folder is left. An input whose
 * folders each hold one series directly is itself one such study ({@code <study>/<series>/
 * <n>.dcm}). Images loose in such a study folder beside its series folders (each holding one
 * series) are read as series {@code loose-<n>} when they belong to the folder's study and left
 * out when they belong to another, with a warning either way. Any other folder of the input is
 * grouped by StudyInstanceUID and SeriesInstanceUID, the study named by that folder and a
 * series by {@code S<SeriesNumber>}; with DICOM files at the top, the whole input is grouped and
 * a study named by the folder that holds all its files. No UID ever reaches the output: a study
 * name that looks like a UID is masked, one that looks like a person name becomes {@code study}.
 * Hidden files are ignored; a file that is not DICOM or cannot be read is a warning, not a
 * failure, and so is a linked folder that leads back into the tree. A series whose pixel format
 * cannot be decoded (by its header) is left untyped, so it is described but never used. File
 * names in warnings pass through {@link Redaction#path}, SeriesDescription text through
 * {@link Redaction#freeText}.
 */
public final class StudyScanner {

    private static final System.Logger LOG = System.getLogger(StudyScanner.class.getName());

    private final DicomReader reader;
    private final SeriesDescriptions descriptions;

    public StudyScanner(DicomReader reader, SeriesDescriptions descriptions) {
        this.reader = Objects.requireNonNull(reader);
        this.descriptions = Objects.requireNonNull(descriptions);
    }

    /**
     * One readable image file's header facts. {@code spacingProblem} and {@code geometryProblem}
     * say why PixelSpacing or the position and orientation could not be used, {@code
     * pixelProblem} why the pixels could not be decoded (null when fine).
     */
    private record FileHeader(Slice slice, String shownName, String studyUid, String seriesUid,
            Integer seriesNumber, String typedDescription, String description,
            Double repetitionTime, Double echoTime,
            Double inversionTime, String transferSyntaxUid, String spacingProblem,
            String geometryProblem, String pixelProblem, Set<String> identifyingFolders) {}

    /** What reading one file gave: a header, or the warning that says why it is skipped. */
    private record HeaderResult(FileHeader header, String warning) {

        static HeaderResult skipped(String warning) {
            return new HeaderResult(null, warning);
        }
    }

    /** Reads every study under {@code dir}. */
    public StudyScan scan(Path dir) throws StudyException {
        if (!Files.exists(dir)) {
            throw new StudyException(Redaction.path(dir) + ": no such folder; give the folder"
                    + " that holds the studies (or one study)");
        }
        if (!Files.isDirectory(dir)) {
            throw new StudyException(Redaction.path(dir) + ": not a folder; give the folder that"
                    + " holds the studies (or one study)");
        }
        List<String> warnings = new ArrayList<>();
        Map<Path, String> notFiles = new LinkedHashMap<>();
        List<Path> found = listFiles(dir, warnings, notFiles);
        long start = System.nanoTime();

        // headers are independent: read them on all cores, then assemble in path order
        List<HeaderResult> read = found.parallelStream().map(f -> readHeader(f, dir)).toList();
        Map<Path, HeaderResult> headers = new HashMap<>();
        for (int i = 0; i < found.size(); i++) {
            headers.put(found.get(i), read.get(i));
        }
        // only images decide the layout: other files (notes, thumbnails, reports) lie anywhere
        java.util.function.Predicate<Path> image = f -> headers.get(f).header() != null;
        // an image at the top makes the folder itself a pile of images; otherwise top-level
        // files (CSV files, notes) belong to no study
        boolean imagesAtTop = found.stream().anyMatch(f -> depth(dir, f) == 1 && image.test(f));
        List<Path> files = imagesAtTop ? found : found.stream()
                .filter(f -> depth(dir, f) > 1).toList();
        List<Study> studies = new ArrayList<>();
        Map<String, Integer> namesUsed = new HashMap<>();
        List<Path> inFolders = files.stream().filter(f -> depth(dir, f) == 2).toList();
        if (imagesAtTop && files.stream().filter(image).allMatch(f -> depth(dir, f) <= 2)
                && isSingleStudy(dir, inFolders, headers)) {
            // one study in the Kaggle layout with images loose beside its series folders
            scanKaggle(dir, files.stream().filter(f -> depth(dir, f) == 2 || image.test(f))
                    .toList(), headers, 2, studies, namesUsed);
        } else if (imagesAtTop) {
            scanGrouped(dir, null, files, headers, studies, warnings, namesUsed);
        } else if (isSingleStudy(dir, files, headers)) {
            scanKaggle(dir, files, headers, 2, studies, namesUsed);
        } else {
            // decided per folder of the root: one whose images all sit in its subfolders is a
            // study in the Kaggle layout, any other is grouped by UID and named by that folder
            Map<Path, List<Path>> byChild = new LinkedHashMap<>();
            for (Path f : files) {
                byChild.computeIfAbsent(dir.resolve(dir.relativize(f).getName(0)),
                        k -> new ArrayList<>()).add(f);
            }
            for (var child : byChild.entrySet()) {
                // a file beside the series folders that is no image (notes, a CSV) belongs to
                // no series; images loose beside folders that each hold a series of one study
                // are sorted out by scanKaggle
                List<Path> inSeriesFolders = child.getValue().stream()
                        .filter(f -> depth(dir, f) == 3).toList();
                boolean looseImages = child.getValue().stream().anyMatch(f -> depth(dir, f) == 2
                        && image.test(f));
                boolean kaggle = !inSeriesFolders.isEmpty()
                        && child.getValue().stream().filter(image)
                                .allMatch(f -> depth(dir, f) <= 3)
                        && (!looseImages
                                || isSingleStudy(child.getKey(), inSeriesFolders, headers));
                if (kaggle) {
                    scanKaggle(dir, child.getValue().stream().filter(f -> depth(dir, f) == 3
                            || image.test(f)).toList(), headers, 3, studies, namesUsed);
                } else {
                    scanGrouped(dir, child.getKey(), child.getValue(), headers, studies,
                            warnings, namesUsed);
                }
            }
        }
        attribute(notFiles, studies, warnings);
        withholdIdentifyingFolders(headers.values(), studies, warnings);
        Map<String, String> shownStudies = new HashMap<>();
        studies.forEach(st -> shownStudies.putIfAbsent(st.folder(), st.id()));
        descriptions.unmatched(studies.stream().flatMap(st -> st.series().stream()
                .map(se -> st.folder() + "/" + se.id())).collect(java.util.stream.Collectors
                        .toSet()), shownStudies).forEach(warnings::add);
        long nanos = System.nanoTime() - start;
        for (Study s : studies) {
            LOG.log(System.Logger.Level.INFO, "study {0}: {1} series, {2,choice,0#0 slices"
                    + "|1#1 slice|1<{2} slices}, {3,choice,0#no warnings|1#1 warning"
                    + "|1<{3} warnings} while reading headers",
                    s.id(), s.series().size(), s.series().stream().mapToInt(Series::sliceCount)
                            .sum(), s.warnings().size());
        }
        return new StudyScan(studies, warnings, files.size(), nanos);
    }

    /**
     * The regular files under {@code dir}, hidden ones left out; anything else that is not a
     * folder (a pipe, a device) goes to {@code notFiles} with its warning. Linked folders are
     * followed
     * (datasets are often linked into place); a link that leads back into the tree, or a folder
     * below {@code dir} that cannot be read, is a warning and its subtree is skipped.
     */
    private static List<Path> listFiles(Path dir, List<String> warnings,
            Map<Path, String> notFiles) throws StudyException {
        int limit = Limits.current().filesPerScan();
        List<Path> files = new ArrayList<>();
        try {
            Files.walkFileTree(dir, Set.of(FileVisitOption.FOLLOW_LINKS), Integer.MAX_VALUE,
                    new SimpleFileVisitor<>() {
                        @Override
                        public FileVisitResult preVisitDirectory(Path d,
                                BasicFileAttributes attrs) {
                            return !d.equals(dir) && hidden(d) ? FileVisitResult.SKIP_SUBTREE
                                    : FileVisitResult.CONTINUE;
                        }

                        @Override
                        public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) {
                            if (attrs.isRegularFile() && !hidden(f)) {
                                files.add(f);
                            } else if (!attrs.isDirectory() && !hidden(f)) {
                                // a pipe or a device could block a read or never end
                                notFiles.put(f, Redaction.path(dir.relativize(f)) + ": "
                                        + (attrs.isSymbolicLink() ? "a link that leads nowhere"
                                                : "not a regular file (a pipe, socket or"
                                                        + " device)") + "; skipped");
                            }
                            return files.size() > limit ? FileVisitResult.TERMINATE
                                    : FileVisitResult.CONTINUE;
                        }

                        @Override
                        public FileVisitResult visitFileFailed(Path f, IOException e)
                                throws IOException {
                            if (f.equals(dir)) {
                                throw e;
                            }
                            if (!hidden(f)) {
                                warnings.add(Redaction.path(dir.relativize(f)) + ": "
                                        + (e instanceof FileSystemLoopException
                                                ? "a linked folder that leads back into the"
                                                        + " tree; not followed"
                                                : "cannot be read (" + reason(e)
                                                        + "); skipped"));
                            }
                            return FileVisitResult.CONTINUE;
                        }
                    });
        } catch (IOException e) {
            throw new StudyException(Redaction.path(dir) + ": cannot list the folder ("
                    + reason(e) + ")", e);
        }
        if (files.size() > limit) {
            throw new StudyException(Redaction.path(dir) + ": holds more than " + limit
                    + " files, the limit (raise it with -Dlumbar.limit.filesPerScan=...); give a"
                    + " folder of studies, not a whole disk");
        }
        files.sort(StudyScanner::byNaturalPath);
        return files;
    }

    /** Why a file or folder met while listing could not be read, in words. */
    private static String reason(IOException e) {
        return IoProblems.reason(e, "it vanished while the folder was read");
    }

    private static int depth(Path dir, Path file) {
        return dir.relativize(file).getNameCount();
    }

    private static boolean hidden(Path path) {
        Path name = path.getFileName();
        return name != null && name.toString().startsWith(".");
    }

    /**
     * Whether {@code dir} is one study in the Kaggle layout: every image sits in a folder of
     * {@code dir}, and each such folder holds one series, or there are several folders and all
     * their images belong to one study (so the folders are series, not studies exported flat).
     * Only images decide: files that are not DICOM (notes, thumbnails, this program's own
     * reports in an output folder under the study) may lie anywhere.
     */
    private static boolean isSingleStudy(Path dir, List<Path> files,
            Map<Path, HeaderResult> read) {
        if (files.isEmpty()) {
            return false;
        }
        Map<Path, Set<String>> seriesOf = new HashMap<>();
        Set<String> studyUids = new HashSet<>();
        for (Path f : files) {
            Path rel = dir.relativize(f);
            FileHeader h = read.get(f).header();
            if (h == null) {
                continue;
            }
            if (rel.getNameCount() != 2) {
                return false;
            }
            seriesOf.computeIfAbsent(rel.getName(0), k -> new HashSet<>())
                    .add(seriesKey(h));
            studyUids.add(Objects.requireNonNullElse(h.studyUid(), ""));
        }
        if (seriesOf.isEmpty()) {
            return false;
        }
        // several folders of one study are its series even when one holds two series
        return seriesOf.values().stream().allMatch(keys -> keys.size() <= 1)
                || seriesOf.size() > 1 && studyUids.size() == 1;
    }

    private void scanKaggle(Path dir, List<Path> files, Map<Path, HeaderResult> read,
            int depth, List<Study> studies, Map<String, Integer> namesUsed) {
        Map<String, Map<String, List<Path>>> tree = new LinkedHashMap<>();
        Map<String, List<Path>> looseFiles = new HashMap<>();
        String single = folderName(dir);
        for (Path f : files) {
            Path rel = dir.relativize(f);
            String study = depth == 3 ? rel.getName(0).toString() : single;
            if (rel.getNameCount() < depth) {
                // an image directly in the study folder, beside its series folders
                looseFiles.computeIfAbsent(study, k -> new ArrayList<>()).add(f);
                continue;
            }
            String series = rel.getName(depth - 2).toString();
            tree.computeIfAbsent(study, k -> new LinkedHashMap<>())
                    .computeIfAbsent(series, k -> new ArrayList<>()).add(f);
        }
        for (var study : tree.entrySet()) {
            Path studyDir = depth == 3 ? dir.resolve(study.getKey()) : dir;
            String studyUid = mostCommonStudyUid(study.getValue().values().stream()
                    .flatMap(List::stream).map(read::get).toList());
            boolean identifies = study.getValue().values().stream().flatMap(List::stream)
                    .map(read::get).anyMatch(r -> r.header() != null
                            && r.header().identifyingFolders().contains(study.getKey()));
            String id = unique(studyName(study.getKey(), studyUid, false, identifies),
                    namesUsed);
            List<String> warnings = new ArrayList<>();
            List<Series> series = new ArrayList<>();
            Map<String, List<Path>> folders = new LinkedHashMap<>();
            study.getValue().forEach((folder, paths) -> folders.put(seriesName(folder), paths));
            addLooseSeries(id, folders, looseFiles.getOrDefault(study.getKey(), List.of()),
                    studyUid, read, warnings);
            for (var s : withinLimits(folders, e -> e.getKey(), warnings)
                    .entrySet()) {
                List<FileHeader> headers = new ArrayList<>();
                for (Path f : s.getValue()) {
                    HeaderResult r = read.get(f);
                    if (r.header() == null) {
                        warnings.add(r.warning());
                    } else if (r.header().studyUid() != null && studyUid != null
                            && !r.header().studyUid().equals(studyUid)) {
                        warnings.add(r.header().shownName() + ": belongs to another study (its"
                                + " StudyInstanceUID differs from the rest of the folder), left"
                                + " out");
                    } else {
                        headers.add(r.header());
                    }
                }
                buildSeries(study.getKey(), s.getKey(), headers, warnings)
                        .ifPresent(series::add);
            }
            studies.add(finish(id, studyDir, series, warnings));
        }
    }

    /**
     * Sorts the images loose in a study folder beside its series folders. Those of the folder's
     * study join {@code folders} as series of their own, one per SeriesInstanceUID, named
     * {@code loose-<n>} (a name no folder of the study has; never a UID), or join the folder
     * whose files carry the same SeriesInstanceUID. Those of another study are left out: they
     * must never be graded under this study's name. Each case is a warning with the count.
     */
    private static void addLooseSeries(String studyId, Map<String, List<Path>> folders,
            List<Path> loose, String studyUid, Map<Path, HeaderResult> read,
            List<String> warnings) {
        if (loose.isEmpty()) {
            return;
        }
        Map<String, String> folderOfSeries = new HashMap<>();
        for (var folder : folders.entrySet()) {
            for (Path f : folder.getValue()) {
                FileHeader h = read.get(f).header();
                if (h != null && h.seriesUid() != null) {
                    folderOfSeries.putIfAbsent(h.seriesUid(), folder.getKey());
                }
            }
        }
        // LIMITATION: loose images are sorted like this only where every series folder holds one
        // series (otherwise the study is grouped by UID); a loose image without a
        // StudyInstanceUID is taken as the folder's study.
        Map<String, List<Path>> bySeries = new LinkedHashMap<>();
        int otherStudy = 0;
        for (Path f : loose) {
            FileHeader h = read.get(f).header();
            if (h.studyUid() != null && studyUid != null && !h.studyUid().equals(studyUid)) {
                otherStudy++;
            } else {
                bySeries.computeIfAbsent(seriesKey(h), k -> new ArrayList<>()).add(f);
            }
        }
        if (otherStudy > 0) {
            warnings.add("study folder " + studyId + ": " + otherStudy + " loose image file(s)"
                    + " beside the series folders belong to another study (their"
                    + " StudyInstanceUID differs from the series folders'), left out");
        }
        int n = 0;
        for (var s : bySeries.entrySet()) {
            String folder = folderOfSeries.get(s.getKey());
            if (folder != null) {
                folders.get(folder).addAll(s.getValue());
                warnings.add("study folder " + studyId + ": " + s.getValue().size() + " loose"
                        + " image file(s) beside the series folders belong to series " + folder
                        + ", read with it");
                continue;
            }
            String name;
            do {
                name = "loose-" + ++n;
            } while (folders.containsKey(name));
            folders.put(name, s.getValue());
            warnings.add("study folder " + studyId + ": " + s.getValue().size() + " loose image"
                    + " file(s) beside the series folders, read as series " + name);
        }
    }

    /** The StudyInstanceUID most files of a study folder carry (the first of equals), or null. */
    private static String mostCommonStudyUid(List<HeaderResult> results) {
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (HeaderResult r : results) {
            if (r.header() != null && r.header().studyUid() != null) {
                counts.merge(r.header().studyUid(), 1, Integer::sum);
            }
        }
        return counts.entrySet().stream().max(Map.Entry.comparingByValue())
                .map(Map.Entry::getKey).orElse(null);
    }

    /**
     * Groups {@code files} by StudyInstanceUID and SeriesInstanceUID. A study is named by
     * {@code folder} when that is given and holds only that study, else by the folder that holds
     * all its files.
     */
    private void scanGrouped(Path dir, Path folder, List<Path> files,
            Map<Path, HeaderResult> read, List<Study> studies, List<String> warnings,
            Map<String, Integer> namesUsed) {
        Map<String, Map<String, List<FileHeader>>> byUid = new LinkedHashMap<>();
        for (Path f : files) {
            FileHeader h = read.get(f).header();
            if (h == null) {
                warnings.add(read.get(f).warning());
                continue;
            }
            byUid.computeIfAbsent(Objects.requireNonNullElse(h.studyUid(), ""),
                            k -> new LinkedHashMap<>())
                    .computeIfAbsent(seriesKey(h), k -> new ArrayList<>()).add(h);
        }
        for (var byStudy : byUid.entrySet()) {
            Map<String, List<FileHeader>> studySeries = byStudy.getValue();
            List<Path> studyFiles = studySeries.values().stream().flatMap(List::stream)
                    .map(h -> h.slice().file()).toList();
            Path studyFolder = folder != null && byUid.size() == 1 ? folder
                    : commonFolder(studyFiles);
            String name = folderName(studyFolder);
            boolean identifies = studySeries.values().stream().flatMap(List::stream)
                    .anyMatch(h -> h.identifyingFolders().contains(name));
            String id = unique(studyName(name, byStudy.getKey().isEmpty() ? null
                    : byStudy.getKey(), byUid.size() > 1, identifies), namesUsed);
            List<String> studyWarnings = new ArrayList<>();
            List<Series> series = new ArrayList<>();
            Map<String, Integer> seriesNames = new HashMap<>();
            List<List<FileHeader>> ordered = new ArrayList<>(
                    withinLimits(studySeries, e -> "S" + e.getValue().getFirst().seriesNumber(),
                            studyWarnings).values());
            ordered.sort(Comparator.comparingInt(l -> Objects.requireNonNullElse(
                    l.getFirst().seriesNumber(), Integer.MAX_VALUE)));
            for (List<FileHeader> headers : ordered) {
                Integer number = headers.getFirst().seriesNumber();
                String seriesId = unique(number == null ? "S" : "S" + number, seriesNames);
                buildSeries(name, seriesId, headers, studyWarnings).ifPresent(series::add);
            }
            studies.add(finish(id, studyFolder, series, studyWarnings));
        }
    }

    /**
     * The series of one study that are within {@link Limits#seriesPerStudy()} and whose file
     * count is within {@link Limits#slicesPerSeries()}; the others are left out with a warning
     * that calls them by {@code name} (never by UID), before any of their pixels is decoded.
     */
    private static <T> Map<String, List<T>> withinLimits(Map<String, List<T>> series,
            java.util.function.Function<Map.Entry<String, List<T>>, String> name,
            List<String> warnings) {
        Limits limits = Limits.current();
        Map<String, List<T>> kept = new LinkedHashMap<>();
        for (var s : series.entrySet()) {
            if (s.getValue().size() > limits.slicesPerSeries()) {
                warnings.add("series " + name.apply(s) + ": left out, " + Limits.exceeded(
                        "its number of files", s.getValue().size(), limits.slicesPerSeries(),
                        "slicesPerSeries"));
            } else if (kept.size() == limits.seriesPerStudy()) {
                warnings.add("series " + name.apply(s) + ": left out, the study has "
                        + series.size() + " series, over the limit of " + limits.seriesPerStudy()
                        + " (raise it with -Dlumbar.limit.seriesPerStudy=...)");
            } else {
                kept.put(s.getKey(), s.getValue());
            }
        }
        return kept;
    }

    private static String seriesKey(FileHeader h) {
        if (h.seriesUid() != null) {
            return h.seriesUid();
        }
        return "#" + h.seriesNumber() + "/" + h.description();
    }

    private HeaderResult readHeader(Path file, Path root) {
        String name = Redaction.path(root.relativize(file));
        DicomObject header;
        try {
            header = reader.readHeader(file);
        } catch (DicomException e) {
            return HeaderResult.skipped(name + ": skipped, " + Redaction.withoutUids(
                    problem(e, file)));
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "reader failure on " + name, e);
            return HeaderResult.skipped(name + ": skipped, the reader failed ("
                    + e.getClass().getSimpleName() + ")");
        }
        int rows = header.getInt(Tag.Rows, 0);
        int columns = header.getInt(Tag.Columns, 0);
        if (rows <= 0 || columns <= 0) {
            return HeaderResult.skipped(name + ": skipped, not an image (no Rows or Columns)");
        }
        if (header.getInt(Tag.NumberOfFrames, 1) > 1) {
            // LIMITATION: multi-frame images, enhanced or not, are skipped: each frame would
            // need its own position (in enhanced images, from functional group sequences that
            // the reader does not expose), and a slice here is one file.
            return HeaderResult.skipped(name + ": skipped, multi-frame images are not"
                    + " supported");
        }
        double[] position = header.getDoubles(Tag.ImagePositionPatient);
        double[] orientation = header.getDoubles(Tag.ImageOrientationPatient);
        double[] spacing = header.getDoubles(Tag.PixelSpacing);
        String spacingProblem = spacingProblem(header, spacing);
        boolean spacingKnown = spacingProblem == null;
        double rowSpacing = spacingKnown ? spacing[0] : 1;
        double columnSpacing = spacingKnown ? spacing[1] : 1;
        String geometryProblem = geometryProblem(header, position, orientation);
        boolean located = geometryProblem == null;
        SliceGeometry geometry = located
                ? new SliceGeometry(Vec3.of(position, 0), Vec3.of(orientation, 0),
                        Vec3.of(orientation, 3), rowSpacing, columnSpacing, rows, columns)
                : new SliceGeometry(Vec3.ZERO, new Vec3(1, 0, 0), new Vec3(0, 1, 0), rowSpacing,
                        columnSpacing, rows, columns);
        Slice slice = new Slice(file, header.getInt(Tag.InstanceNumber, 0), geometry, located,
                blankToNull(header.getString(Tag.FrameOfReferenceUID)));
        Integer seriesNumber = header.contains(Tag.SeriesNumber)
                ? header.getInt(Tag.SeriesNumber, 0) : null;
        return new HeaderResult(new FileHeader(slice, name, blankToNull(header.getString(
                Tag.StudyInstanceUID)), blankToNull(header.getString(Tag.SeriesInstanceUID)),
                seriesNumber, blankToNull(header.getString(Tag.SeriesDescription)),
                description(header),
                first(header, Tag.RepetitionTime), first(header, Tag.EchoTime),
                first(header, Tag.InversionTime), header.transferSyntaxUid(), spacingProblem,
                geometryProblem, pixelProblem(header),
                identifyingFolders(root, file, values(header, PATIENT_TAGS))), null);
    }

    /**
     * Replaces, in every warning of the scan and of its studies, each folder name that some
     * file under it was found to be identified by ({@link #identifyingFolders}): a warning
     * names a file by its path, and a file that could not be read has no values of its own to
     * be checked against, but its study folder's name was checked against its neighbours'.
     */
    private static void withholdIdentifyingFolders(Collection<HeaderResult> headers,
            List<Study> studies, List<String> warnings) {
        Set<String> names = new HashSet<>();
        for (HeaderResult r : headers) {
            if (r.header() != null) {
                names.addAll(r.header().identifyingFolders());
            }
        }
        if (names.isEmpty()) {
            return;
        }
        java.util.function.UnaryOperator<String> withheld = w -> {
            for (String name : names) {
                w = w.replace(name, FOLDER_WITHHELD);
            }
            return w;
        };
        warnings.replaceAll(withheld);
        studies.replaceAll(st -> new Study(st.id(), st.directory(), st.series(),
                st.warnings().stream().map(withheld).toList()));
    }

    /**
     * Each warning about a path that is not a file goes to the study whose folder holds it,
     * where one study's folder holds it more closely than any other's (so it reaches that
     * study's report); the rest stay with the scan's warnings.
     */
    private static void attribute(Map<Path, String> warningsByPath, List<Study> studies,
            List<String> warnings) {
        Map<Study, List<String>> extra = new LinkedHashMap<>();
        for (Map.Entry<Path, String> w : warningsByPath.entrySet()) {
            Study owner = null;
            int deepest = -1;
            boolean shared = false;
            Path path = w.getKey().toAbsolutePath();
            for (Study study : studies) {
                Path folder = study.directory().toAbsolutePath();
                if (path.startsWith(folder)) {
                    int depth = folder.getNameCount();
                    if (depth > deepest) {
                        owner = study;
                        deepest = depth;
                        shared = false;
                    } else if (depth == deepest) {
                        shared = true;
                    }
                }
            }
            if (owner == null || shared) {
                warnings.add(w.getValue());
            } else {
                extra.computeIfAbsent(owner, k -> new ArrayList<>()).add(w.getValue());
            }
        }
        studies.replaceAll(st -> extra.containsKey(st) ? new Study(st.id(), st.directory(),
                st.series(), java.util.stream.Stream.concat(st.warnings().stream(),
                        extra.get(st).stream()).toList()) : st);
    }

    /** What a folder name that identifies the patient is replaced by in warnings. */
    static final String FOLDER_WITHHELD = "<folder withheld>";

    /**
     * The tags of {@link Tag#IDENTIFYING} that name the patient or the examination. Folder
     * names are checked against these alone: the institution's and the staff's names are not
     * the patient's, and their words ("st", "general") are common folder names.
     */
    private static final int[] PATIENT_TAGS = {
        Tag.PatientName, Tag.PatientID, Tag.PatientBirthDate, Tag.AccessionNumber
    };

    /** The file's values of {@code tags}, null where absent. */
    private static List<String> values(DicomObject header, int[] tags) {
        List<String> values = new ArrayList<>();
        for (int tag : tags) {
            values.add(header.getString(tag));
        }
        return values;
    }

    /**
     * The names of the folders from {@code root} (itself included) down to {@code file} that
     * hold a word of the file's values of {@link #PATIENT_TAGS}: exporters name folders by
     * patient ID or name ({@code MRN1534689}, {@code Rossi_Erik_19600613}), and a study named
     * by such a folder would carry it into every log line, report and submission row.
     */
    private static Set<String> identifyingFolders(Path root, Path file, List<String> patient) {
        Set<String> found = new HashSet<>();
        List<String> folders = new ArrayList<>();
        folders.add(folderName(root));
        Path parent = root.relativize(file).getParent();
        if (parent != null) {
            for (Path part : parent) {
                folders.add(part.toString());
            }
        }
        for (String folder : folders) {
            // LIMITATION: a folder named by a patient ID of digits alone is shown: Kaggle's
            // study folders are plain integers, and its files carry that integer as PatientID
            if (!folder.chars().allMatch(Character::isDigit)
                    && Redaction.holdsIdentifyingValue(folder, patient)) {
                found.add(folder);
            }
        }
        return found.isEmpty() ? Set.of() : Set.copyOf(found);
    }

    /**
     * The file's SeriesDescription as it may be shown, withheld here, where the file's own
     * identifying values are at hand, when it holds a word of one of them: it reaches warnings,
     * reports and {@code inspect}, none of which may show them. Typing reads the text itself.
     */
    private static String description(DicomObject header) {
        String text = blankToNull(header.getString(Tag.SeriesDescription));
        if (text == null) {
            return null;
        }
        return Redaction.holdsIdentifyingValue(text, values(header, Tag.IDENTIFYING))
                ? Redaction.IDENTIFIER_WITHHELD : text;
    }

    /**
     * Why the pixels of a file cannot be read into a volume, from the Image Pixel module alone,
     * or null when they can: the DICOM decoder takes 8, 16 or 32 allocated bits with at most
     * that many stored, and {@link VolumeLoader} one sample per pixel (grey) or three (colour).
     */
    private static String pixelProblem(DicomObject header) {
        if (!header.contains(Tag.BitsAllocated)) {
            return "no BitsAllocated";
        }
        int allocated = header.getInt(Tag.BitsAllocated, -1);
        if (allocated != 8 && allocated != 16 && allocated != 32) {
            return "BitsAllocated " + allocated + " (8, 16 or 32 are decoded)";
        }
        int stored = header.getInt(Tag.BitsStored, allocated);
        if (stored < 1 || stored > allocated) {
            return "BitsStored " + stored + " does not fit BitsAllocated " + allocated;
        }
        int samples = header.getInt(Tag.SamplesPerPixel, 1);
        if (samples != 1 && samples != 3) {
            return "SamplesPerPixel " + samples + " (1 or 3 are read)";
        }
        return null;
    }

    /** The characters of DICOM decimal strings (VR DS) and the backslash between values. */
    private static final Pattern DECIMAL_TEXT =
            Pattern.compile("[0-9+\\-.eE \\\\]*");

    /** Why PixelSpacing cannot be used, or null when it is two positive finite numbers. */
    private static String spacingProblem(DicomObject header, double[] spacing) {
        if (!header.contains(Tag.PixelSpacing)) {
            return "no PixelSpacing";
        }
        if (spacing == null || spacing.length < 2 || !(spacing[0] > 0) || !(spacing[1] > 0)
                || !Double.isFinite(spacing[0]) || !Double.isFinite(spacing[1])) {
            String value = Objects.requireNonNullElse(header.getString(Tag.PixelSpacing), "");
            // shown only where it is made of what numbers are made of and holds none of the
            // file's identifying values: a malformed value can be any text, a patient's ID or
            // birth date among them, and those can be digits alone
            if (!DECIMAL_TEXT.matcher(value).matches()) {
                return "PixelSpacing is not two positive finite numbers (it holds other text,"
                        + " withheld)";
            }
            if (Redaction.holdsIdentifyingValue(value, values(header, Tag.IDENTIFYING))) {
                return "PixelSpacing is not two positive finite numbers (it holds one of the"
                        + " file's identifying values, withheld)";
            }
            return "PixelSpacing '" + (value.length() > 40 ? value.substring(0, 40) + "…" : value)
                    + "' is not two positive finite numbers";
        }
        return null;
    }

    /** Why position and orientation cannot place the slice, or null when they can. */
    private static String geometryProblem(DicomObject header, double[] position,
            double[] orientation) {
        boolean hasPosition = header.contains(Tag.ImagePositionPatient);
        boolean hasOrientation = header.contains(Tag.ImageOrientationPatient);
        if (!hasPosition && !hasOrientation) {
            return "no ImagePositionPatient or ImageOrientationPatient";
        }
        if (!hasPosition) {
            return "no ImagePositionPatient";
        }
        if (!hasOrientation) {
            return "no ImageOrientationPatient";
        }
        if (position == null || position.length < 3 || !finite(position, 3)) {
            return "ImagePositionPatient is not three finite numbers";
        }
        if (orientation == null || orientation.length < 6 || !finite(orientation, 6)
                || !validCosines(orientation)) {
            return "ImageOrientationPatient is not two perpendicular unit vectors";
        }
        return null;
    }

    private static boolean finite(double[] values, int n) {
        for (int i = 0; i < n; i++) {
            if (!Double.isFinite(values[i])) {
                return false;
            }
        }
        return true;
    }

    /**
     * One series from its files' headers; {@code studyFolder} is the study's folder name as a
     * series CSV names it (not the name the study is shown by), {@code seriesId} the series'
     * name as shown, which the CSV's names are read into ({@link SeriesDescriptions}).
     */
    private Optional<Series> buildSeries(String studyFolder, String seriesId,
            List<FileHeader> headers, List<String> warnings) {
        if (headers.isEmpty()) {
            warnings.add("series " + seriesId + ": no readable image, left out");
            return Optional.empty();
        }
        // LIMITATION: description, TR and TE of a series are its first file's.
        FileHeader first = headers.getFirst();
        int n = headers.size();
        countProblems(headers, FileHeader::spacingProblem).forEach((problem, count) ->
                warnings.add("series " + seriesId + ": " + problem + " in " + count + " of " + n
                        + " file(s), 1 mm pixels assumed"));
        Map<String, Integer> geometryProblems = countProblems(headers,
                FileHeader::geometryProblem);
        String unlocatedWhy = geometryProblems.entrySet().stream()
                .map(e -> e.getValue() + ": " + e.getKey())
                .reduce((a, b) -> a + "; " + b).orElse(null);
        List<Stack> stacks = StackSplitter.split(seriesId,
                headers.stream().map(FileHeader::slice).toList(), unlocatedWhy, warnings);
        Stack main = stacks.stream().filter(Stack::geometryKnown)
                .max(Comparator.comparingInt(Stack::size)).orElse(null);
        descriptions.conflict(studyFolder, seriesId).ifPresent(c -> warnings.add("series "
                + seriesId + ": " + c));
        // typed by its own words, which are quoted only as shown: a description that holds
        // the patient's name still says which series it is
        SeriesTyping typing = SeriesTyper.type(new SeriesTyper.Evidence(
                descriptions.find(studyFolder, seriesId).orElse(null), first.typedDescription(),
                first.description(), main == null ? null : main.normal(),
                stacks.stream().filter(Stack::geometryKnown).map(Stack::normal).toList(),
                first.repetitionTime(), first.echoTime(), first.inversionTime()),
                note -> warnings.add("series " + seriesId + ": " + note));
        String syntax = headers.stream().map(FileHeader::transferSyntaxUid).distinct().count() == 1
                ? first.transferSyntaxUid() : Series.MIXED_TRANSFER_SYNTAX;
        long undecodable = headers.stream()
                .filter(h -> !TransferSyntax.decodable(h.transferSyntaxUid())).count();
        Map<String, Integer> pixelProblems = countProblems(headers, FileHeader::pixelProblem);
        long unreadable = pixelProblems.values().stream().mapToLong(Integer::longValue).sum();
        String pixelWhy = pixelProblems.keySet().stream().reduce((a, b) -> a + ", " + b)
                .orElse(null);
        if (unreadable == n) {
            // as with an undecodable transfer syntax: no type, so the pipeline never picks it
            typing = SeriesTyping.undecided(typing.reason() + "; but its pixel format ("
                    + pixelWhy + ") cannot be decoded");
        } else if (unreadable > 0) {
            warnings.add("series " + seriesId + ": " + unreadable + " of " + n + " file(s) in a"
                    + " pixel format that cannot be decoded (" + pixelWhy + "); those slices"
                    + " are left out");
        }
        if (undecodable == n && unreadable < n) {
            // a type would send the pipeline to a series it cannot read; say so here instead
            typing = SeriesTyping.undecided(typing.reason() + "; but its pixels are in "
                    + TransferSyntax.describe(first.transferSyntaxUid())
                    + ", which this reader cannot decode");
        } else if (undecodable > 0 && undecodable < n) {
            warnings.add("series " + seriesId + ": " + undecodable + " of " + n + " file(s) in a"
                    + " transfer syntax this reader cannot decode; those slices are left"
                    + " out");
        }
        long seriesUids = headers.stream().map(FileHeader::seriesUid).distinct().count();
        if (seriesUids > 1) {
            warnings.add("series " + seriesId + ": its files carry " + seriesUids + " different"
                    + " SeriesInstanceUIDs; all are read as one series");
        }
        return Optional.of(new Series(seriesId, Redaction.freeText(
                first.description()), typing,
                first.repetitionTime(), first.echoTime(), syntax, stacks));
    }

    /** Adds the study-level checks: types typed twice, or undecided. */
    private static Study finish(String id, Path dir, List<Series> series, List<String> warnings) {
        series = timingSeparates(series, warnings);
        Map<SeriesType, List<String>> byType = new EnumMap<>(SeriesType.class);
        for (Series s : series) {
            if (s.typing().decided()) {
                byType.computeIfAbsent(s.type(), k -> new ArrayList<>()).add(s.id());
            } else {
                warnings.add("series " + s.id() + ": type undecided (" + s.typing().reason()
                        + "), not used");
            }
        }
        for (SeriesType type : SeriesType.values()) {
            List<String> ids = byType.get(type);
            // a missing type is not warned here: the pipeline says what it costs, once
            // (Study#missingTypes for those that only describe the study)
            if (ids != null && ids.size() > 1) {
                warnings.add(ids.size() + " series typed " + type + " (" + String.join(", ", ids)
                        + "): the most usable is chosen when their images are read");
            }
        }
        return new Study(id, dir, series, warnings);
    }

    /**
     * Where several series claim one type and the TR/TE of some contradict their text (a T1
     * series described as T2 beside the real T2), those are retyped by their timing, so that
     * the text's mistake does not cost the series whose timing agrees. A series claiming a type
     * alone keeps its text's type (with the note {@link SeriesTyper} made).
     */
    private static List<Series> timingSeparates(List<Series> series, List<String> warnings) {
        Map<SeriesType, Long> claims = series.stream().filter(s -> s.typing().decided())
                .collect(java.util.stream.Collectors.groupingBy(Series::type,
                        () -> new EnumMap<>(SeriesType.class),
                        java.util.stream.Collectors.counting()));
        Map<SeriesType, Long> agreeing = series.stream()
                .filter(s -> s.typing().decided() && s.typing().byTiming() == null)
                .collect(java.util.stream.Collectors.groupingBy(Series::type,
                        () -> new EnumMap<>(SeriesType.class),
                        java.util.stream.Collectors.counting()));
        List<Series> typed = new ArrayList<>();
        for (Series s : series) {
            SeriesTyping t = s.typing();
            // only where a series whose timing agrees keeps the type: were all of them
            // contradicted, moving them all would just swap the clash to the other type
            if (t.decided() && t.byTiming() != null && claims.get(t.type()) > 1
                    && agreeing.getOrDefault(t.type(), 0L) > 0) {
                warnings.add("series " + s.id() + ": typed " + t.type() + " by its text, as is"
                        + " another series, but its timing is " + t.byTiming() + "'s; the"
                        + " timing decides: it is used as " + t.byTiming());
                s = new Series(s.id(), s.description(), new SeriesTyping(t.byTiming(),
                        TypingRule.GEOMETRY, t.reason() + "; typed " + t.byTiming() + " by its"
                        + " timing, as another series with agreeing timing is " + t.type()),
                        s.repetitionTime(), s.echoTime(), s.transferSyntaxUid(), s.stacks());
            }
            typed.add(s);
        }
        return typed;
    }

    /** Each distinct problem {@code problem} names among {@code headers}, with its count. */
    private static Map<String, Integer> countProblems(List<FileHeader> headers,
            java.util.function.Function<FileHeader, String> problem) {
        Map<String, Integer> counts = new TreeMap<>();
        for (FileHeader h : headers) {
            String p = problem.apply(h);
            if (p != null) {
                counts.merge(p, 1, Integer::sum);
            }
        }
        return counts;
    }

    private static Double first(DicomObject header, int tag) {
        double[] v = header.getDoubles(tag);
        return v == null || v.length == 0 ? null : v[0];
    }

    private static boolean validCosines(double[] o) {
        Vec3 row = Vec3.of(o, 0);
        Vec3 column = Vec3.of(o, 3);
        return Math.abs(row.norm() - 1) < 0.05 && Math.abs(column.norm() - 1) < 0.05
                && row.cross(column).norm() > 0.9;
    }

    private static String problem(DicomException e, Path file) {
        String message = Objects.requireNonNullElse(e.getMessage(), "unreadable");
        String prefix = file + ": ";
        return message.startsWith(prefix) ? message.substring(prefix.length()) : message;
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.strip();
    }

    private static Path commonFolder(List<Path> files) {
        Path common = files.getFirst().toAbsolutePath().getParent();
        for (Path f : files) {
            while (!f.toAbsolutePath().startsWith(common)) {
                common = common.getParent();
            }
        }
        return common;
    }

    private static String folderName(Path dir) {
        Path name = dir.toAbsolutePath().normalize().getFileName();
        return name == null ? "study" : name.toString();
    }

    /**
     * A folder name as a study may be called: a UID-like name is masked ({@link Redaction#name})
     * and one that looks like a person name is replaced by {@code study}.
     */
    // LIMITATION: only DICOM-style person names (FAMILY^GIVEN) are recognised; a folder called
    // Doe_John is shown as it is.
    static String shownStudyName(String folder) {
        return Redaction.looksLikePersonName(folder) ? "study" : plain(Redaction.name(folder));
    }

    /**
     * {@code name} with what a study's name cannot hold made plain: a comma or a line break
     * (it starts the study's rows in a submission, a CSV), any other control character (it
     * is printed on the console) and spaces at either end (a CSV reader strips them), each
     * replaced by {@code _}. A name changed so gets a tag of its own ({@link #studyName}).
     */
    static String plain(String name) {
        String inside = PLAIN_ENDS.matcher(name).replaceAll(m -> "_".repeat(m.group().length()));
        return NOT_PLAIN.matcher(inside).replaceAll("_");
    }

    private static final Pattern NOT_PLAIN = Pattern.compile("[,\\p{Cntrl}]");
    private static final Pattern PLAIN_ENDS = Pattern.compile("^\\s+|\\s+$");

    /**
     * What a series folder is called: its name, or, where the name is a UID or holds one
     * (exporters name series folders by SeriesInstanceUID), the name masked
     * ({@link Redaction#name}) with a tag of the whole name, so that two series of a study stay
     * apart and a series is called the same in every run: {@code …7527-3fa9c1}.
     */
    public static String seriesName(String folder) {
        String shown = plain(Redaction.name(folder));
        return shown.equals(folder) ? folder : shown + "-" + Redaction.tag(folder);
    }

    /**
     * What a study is called: its folder's name as it may be shown ({@link #shownStudyName}),
     * followed by a tag of its own where that name was masked or replaced, or where the folder
     * holds several studies ({@code shared}). A name that holds a word of the study's files'
     * identifying values ({@code identifies}) is replaced as a person name is. The tag is
     * {@link Redaction#tag} of the folder's name with the study's StudyInstanceUID (of the
     * name alone when the files carry none), so a study is called the same whatever other
     * studies lie beside it: {@code --resume} matches studies by name, and a name that
     * depended on the others (a second "…7527" numbered "-2" by sort order) could match a
     * study graded before and skip a new one. Never a tag of a name alone where that name
     * identifies the patient: a short hash of a name can be matched against a list of names,
     * one taken with a UID cannot.
     */
    // LIMITATION: the name is also the prefix of the study's submission rows and its report's
    // file name, so a masked or replaced study is tied to its folder only by its tag.
    static String studyName(String folder, String studyUid, boolean shared,
            boolean identifies) {
        String shown = identifies ? "study" : shownStudyName(folder);
        if (!shared && shown.equals(folder)) {
            return shown;
        }
        String key = studyUid != null ? folder + "/" + studyUid
                : identifies || Redaction.looksLikePersonName(folder) ? null : folder;
        return key == null ? shown : shown + "-" + Redaction.tag(key);
    }

    /**
     * {@code name}, or, where an earlier study of this scan has it, {@code name-2},
     * {@code name-3}… in scan order. A last resort: {@link #studyName} keeps the names of
     * different studies apart in every case but two folders of the same shown name at
     * different places in the input tree, and folders withheld as person names whose files
     * carry no StudyInstanceUID.
     */
    private static String unique(String name, Map<String, Integer> used) {
        int n = used.merge(name, 1, Integer::sum);
        return n == 1 ? name : name + "-" + n;
    }

    /** Path order with digit runs compared as numbers, so 2.dcm sorts before 10.dcm. */
    private static int byNaturalPath(Path a, Path b) {
        return naturalCompare(a.toString(), b.toString());
    }

    static int naturalCompare(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            char ca = a.charAt(i);
            char cb = b.charAt(j);
            if (Character.isDigit(ca) && Character.isDigit(cb)) {
                int si = i;
                int sj = j;
                while (i < a.length() && Character.isDigit(a.charAt(i))) {
                    i++;
                }
                while (j < b.length() && Character.isDigit(b.charAt(j))) {
                    j++;
                }
                String na = a.substring(si, i).replaceFirst("^0+(?=.)", "");
                String nb = b.substring(sj, j).replaceFirst("^0+(?=.)", "");
                int c = na.length() != nb.length() ? Integer.compare(na.length(), nb.length())
                        : na.compareTo(nb);
                if (c != 0) {
                    return c;
                }
            } else {
                if (ca != cb) {
                    return Character.compare(ca, cb);
                }
                i++;
                j++;
            }
        }
        return Integer.compare(a.length() - i, b.length() - j);
    }
}
