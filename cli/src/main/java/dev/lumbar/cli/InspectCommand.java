package dev.lumbar.cli;

import dev.lumbar.engine.Redaction;
import dev.lumbar.engine.dicom.DicomReader;
import dev.lumbar.engine.dicom.TransferSyntax;
import dev.lumbar.engine.study.Millimetres;
import dev.lumbar.engine.study.Series;
import dev.lumbar.engine.study.SeriesDescriptions;
import dev.lumbar.engine.study.Stack;
import dev.lumbar.engine.study.Study;
import dev.lumbar.engine.study.StudyException;
import dev.lumbar.engine.study.StudyScan;
import dev.lumbar.engine.study.StudyScanner;
import dev.lumbar.engine.study.VolumeLoader;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code lumbar inspect}: what the engine makes of a folder of DICOM studies, before anything is
 * graded. Names come from folders; no patient identifier or UID is printed.
 */
@Command(name = "inspect",
        mixinStandardHelpOptions = true,
        description = {
            "Describes the studies under DIR (a folder of studies or one study): one line per"
                    + " series with its type and the rule that decided it, orientation, slices"
                    + " and stacks, image size, pixel and slice spacing, transfer syntax; then"
                    + " the warnings.",
            "",
            "Exit codes: 0 described (warnings included), 1 an internal error (a bug),"
                    + " 2 DIR or the series CSV is unreadable"
                    + " or holds no DICOM image, or with --timing a stack could not be read (half"
                    + " of its slices or more could not be decoded)."})
public final class InspectCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "DIR", description = "folder of studies, or one study folder")
    Path dir;

    @Option(names = "--series-csv", paramLabel = "FILE",
            description = "Kaggle series CSV: study_id,series_id,series_description")
    Path seriesCsv;

    @Option(names = "--timing",
            description = "also decode every stack and print header files/s and decode MB/s")
    boolean timing;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try {
            SeriesDescriptions descriptions = seriesCsv == null ? SeriesDescriptions.none()
                    : SeriesDescriptions.read(seriesCsv);
            DicomReader reader = DicomReader.standard();
            StudyScan scan = new StudyScanner(reader, descriptions).scan(dir);
            // with --timing each study's stacks are decoded before its warnings are printed,
            // so that the slices left out are among them
            Decoding decoding = timing ? new Decoding(new VolumeLoader(reader)) : null;
            for (Study study : scan.studies()) {
                describe(out, study, decoding == null ? List.of() : decoding.read(study));
            }
            if (!scan.warnings().isEmpty()) {
                out.println("warnings outside any study:");
                scan.warnings().forEach(w -> out.println("  - " + w));
            }
            if (scan.studies().isEmpty()) {
                err.println("lumbar inspect: " + Redaction.path(dir) + ": no DICOM image found");
                return Main.BAD_INPUT;
            }
            if (decoding != null) {
                printTiming(out, scan, decoding);
                if (decoding.failed > 0) {
                    err.printf(Locale.ROOT, "lumbar inspect: %s: %d of %d stacks could not be"
                            + " read (see above)%n", Redaction.path(dir), decoding.failed,
                            decoding.total);
                    return Main.BAD_INPUT;
                }
            }
            return 0;
        } catch (StudyException e) {
            err.println("lumbar inspect: " + e.getMessage());
            return Main.BAD_INPUT;
        } finally {
            out.flush();
            err.flush();
        }
    }

    /**
     * Prints a study's series and then every warning about it: those of the scan, the kinds of
     * series it lacks, and {@code decodeWarnings}, what decoding its stacks found (--timing).
     */
    private static void describe(PrintWriter out, Study study, List<String> decodeWarnings) {
        int slices = study.series().stream().mapToInt(Series::sliceCount).sum();
        out.printf(Locale.ROOT, "study %s: %d series, %d slice%s%n", study.id(),
                study.series().size(), slices, slices == 1 ? "" : "s");
        for (Series s : study.series()) {
            Stack main = s.largestStack();
            String type = s.typing().decided() ? s.type().name() : "untyped";
            out.printf(Locale.ROOT, "  %-12s %-7s by %-18s %-20s %3d slice%s in %d stack%s"
                    + "  %dx%d  %s mm  %s  %s%n", s.id(), type, s.typing().rule(),
                    orientation(main), s.sliceCount(), s.sliceCount() == 1 ? " " : "s",
                    s.stacks().size(), s.stacks().size() == 1 ? " " : "s", main.rows(),
                    main.columns(),
                    pixel(main), gap(main), syntax(s.transferSyntaxUid()));
            out.println("      why: " + s.typing().reason());
            if (s.stacks().size() > 1) {
                for (Stack st : s.stacks()) {
                    out.printf(Locale.ROOT, "      %s: %d slice%s, %s, %dx%d, %s%n", st.name(),
                            st.size(), st.size() == 1 ? "" : "s", orientation(st), st.rows(),
                            st.columns(), gap(st));
                }
            }
        }
        List<String> warnings = new ArrayList<>(study.warnings());
        study.missingTypes().forEach(t -> warnings.add("no " + t + " series: targets read from"
                + " it fall back"));
        warnings.addAll(decodeWarnings);
        if (warnings.isEmpty()) {
            out.println("  no warnings");
        } else {
            out.println("  warnings:");
            warnings.forEach(w -> out.println("  - " + w));
        }
    }

    private static String syntax(String uid) {
        return Series.MIXED_TRANSFER_SYNTAX.equals(uid) ? "mixed transfer syntaxes"
                : TransferSyntax.describe(uid);
    }

    /** Row spacing × column spacing, as PixelSpacing orders them. */
    private static String pixel(Stack stack) {
        return String.format(Locale.ROOT, "%.3gx%.3g", stack.rowSpacing(),
                stack.columnSpacing());
    }

    private static String orientation(Stack stack) {
        return stack.geometryKnown() ? stack.orientation().toString() : "orientation unknown";
    }

    private static String gap(Stack stack) {
        if (!stack.geometryKnown()) {
            return "no positions";
        }
        return Double.isNaN(stack.sliceSpacing()) ? "single slice"
                : "gap " + Millimetres.shown(stack.sliceSpacing(), 2) + " mm";
    }

    /**
     * Every stack read as predict reads it, study by study, for --timing: a slice that cannot
     * be decoded is left out alone, and the stack fails when half of its slices or more are.
     * Counts the stacks, those that failed, and the time spent decoding.
     */
    private static final class Decoding {

        private final VolumeLoader loader;
        private long nanos;
        private int failed;
        private int total;

        Decoding(VolumeLoader loader) {
            this.loader = loader;
        }

        /** Decodes the study's stacks and returns what was left out, and why. */
        List<String> read(Study study) {
            List<String> warnings = new ArrayList<>();
            long start = System.nanoTime();
            for (Series series : study.series()) {
                for (Stack stack : series.stacks()) {
                    total++;
                    try (VolumeLoader.Volume volume = loader.loadReadable(stack, warnings)) {
                        volume.voxels().numel();
                    } catch (StudyException e) {
                        failed++;
                        warnings.add(e.getMessage());
                    }
                }
            }
            nanos += System.nanoTime() - start;
            return warnings;
        }
    }

    /** Prints the header and decode rates; the decoding's warnings are each study's. */
    private static void printTiming(PrintWriter out, StudyScan scan, Decoding decoding) {
        double headerSeconds = scan.headerNanos() / 1e9;
        out.printf(Locale.ROOT, "timing: %d headers in %.3f s = %.0f files/s (header only)%n",
                scan.filesRead(), headerSeconds, scan.filesRead() / headerSeconds);
        double seconds = decoding.nanos / 1e9;
        double megabytes = decoding.loader.storedBytesDecoded() / 1e6;
        out.printf(Locale.ROOT, "timing: decoded %.1f MB of stored pixels in %.3f s = %.1f MB/s"
                + "%s%n", megabytes, seconds, megabytes / seconds,
                decoding.failed == 0 ? "" : " (" + PredictCommand.count(decoding.failed,
                        "stack", "stacks") + " failed)");
    }
}
