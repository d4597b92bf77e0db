package dev.lumbar.cli;

import dev.lumbar.engine.phantom.PatientTags;
import dev.lumbar.engine.phantom.PhantomGenerator;
import dev.lumbar.engine.phantom.PhantomOptions;
import dev.lumbar.engine.phantom.PhantomSeries;
import dev.lumbar.engine.phantom.PhantomStudy;
import dev.lumbar.engine.phantom.PhantomWriter;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lumbar phantom}: writes a synthetic lumbar study with its ground truth. */
@Command(name = "phantom",
        mixinStandardHelpOptions = true,
        description = {
            "Writes a synthetic lumbar study in the Kaggle layout.",
            "Its images go to OUT/<study>/<series>/<n>.dcm (sagittal T1, sagittal T2, axial",
            "T2 in one tilted stack per disc), with OUT/series_descriptions.csv,",
            "OUT/ground_truth.csv (world mm of every level and target) and",
            "OUT/label_coordinates.csv (Kaggle-style pixel coordinates). The same seed always",
            "writes the same bytes.",
            "The patient tags are fake; override them to plant recognisable values.",
            "",
            "Exit codes: 0 written, 2 bad option or OUT cannot be written."})
public final class PhantomCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = {"-o", "--out"}, required = true, paramLabel = "DIR",
            description = "folder to write into (created if missing)")
    Path out;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "1",
            description = "drives anatomy, geometry, noise and identifiers"
                    + " (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--study-id", paramLabel = "NAME",
            description = "study folder name (default: drawn from the seed)")
    String studyId;

    @Option(names = "--patient-name", paramLabel = "NAME",
            description = "PatientName, e.g. DOE^JANE")
    String patientName;

    @Option(names = "--patient-id", paramLabel = "ID",
            description = "PatientID")
    String patientId;

    @Option(names = "--birth-date", paramLabel = "DATE",
            description = "PatientBirthDate, YYYYMMDD")
    String birthDate;

    @Option(names = "--accession", paramLabel = "NUMBER",
            description = "AccessionNumber")
    String accession;

    @Option(names = "--institution", paramLabel = "NAME",
            description = "InstitutionName")
    String institution;

    @Override
    public Integer call() {
        PrintWriter stdout = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try {
            PatientTags fake = PatientTags.fake(seed);
            PatientTags patient = new PatientTags(or(patientName, fake.name()),
                    or(patientId, fake.id()), or(birthDate, fake.birthDate()), fake.sex(),
                    or(accession, fake.accessionNumber()), or(institution, fake.institution()),
                    fake.referringPhysician(), fake.performingPhysician(), fake.operator());
            PhantomOptions options = PhantomOptions.of(seed).withPatient(patient)
                    .withStudyId(studyId);
            PhantomStudy study = PhantomGenerator.generate(options);
            Path studyDir = PhantomWriter.write(study, out);
            stdout.printf(Locale.ROOT, "wrote study %s (seed %d) to %s%n", study.studyId(), seed,
                    studyDir);
            for (PhantomSeries s : study.series()) {
                stdout.printf(Locale.ROOT, "  %-12s %-7s %3d slices in %d stack%s%n",
                        s.seriesId(), s.type(), s.slices().size(), s.stackCount(),
                        s.stackCount() == 1 ? "" : "s");
            }
            stdout.println("  ground truth: " + out.resolve(PhantomWriter.GROUND_TRUTH_CSV));
            return 0;
        } catch (IllegalArgumentException | UncheckedIOException e) {
            err.println("lumbar phantom: " + e.getMessage());
            return Main.BAD_INPUT;
        } finally {
            stdout.flush();
            err.flush();
        }
    }

    private static String or(String given, String fallback) {
        return given != null ? given : fallback;
    }
}
