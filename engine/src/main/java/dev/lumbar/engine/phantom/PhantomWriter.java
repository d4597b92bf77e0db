package dev.lumbar.engine.phantom;

import dev.lumbar.engine.dicom.Tag;
import dev.lumbar.engine.io.AtomicFile;
import dev.lumbar.engine.io.IoProblems;
import dev.lumbar.engine.spine.SeriesType;
import dev.lumbar.engine.study.SliceGeometry;
import dev.lumbar.engine.study.Vec3;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.UUID;

/**
 * Writes a {@link PhantomStudy} in the Kaggle layout:
 * <pre>
 * out/series_descriptions.csv        study_id,series_id,series_description
 * out/ground_truth.csv               study_id,level,target,x,y,z   (patient mm, LPS)
 * out/label_coordinates.csv          Kaggle train_label_coordinates.csv columns
 * out/&lt;study_id&gt;/&lt;series_id&gt;/&lt;instance&gt;.dcm
 * </pre>
 * Each CSV keeps the rows of other studies already in it and replaces this study's, so several
 * phantoms can share one root. UIDs are derived from the seed so the same options always give
 * byte-identical files.
 */
public final class PhantomWriter {

    public static final String SERIES_CSV = "series_descriptions.csv";
    public static final String GROUND_TRUTH_CSV = "ground_truth.csv";
    public static final String LABEL_COORDINATES_CSV = "label_coordinates.csv";

    // tags the reader has no use for, written so the files look like a scanner's
    private static final int SPECIFIC_CHARACTER_SET = 0x0008_0005;
    private static final int STUDY_TIME = 0x0008_0030;
    private static final int MANUFACTURER = 0x0008_0070;
    private static final int SCANNING_SEQUENCE = 0x0018_0020;
    private static final int SEQUENCE_NAME = 0x0018_0024;
    private static final int MAGNETIC_FIELD_STRENGTH = 0x0018_0087;
    private static final int PATIENT_POSITION = 0x0018_5100;

    private PhantomWriter() {}

    /** Writes the study under {@code out} and returns the study folder. */
    public static Path write(PhantomStudy study, Path out) {
        Path studyDir = out.resolve(study.studyId());
        String studyUid = uid(study, "study");
        String frameOfReference = uid(study, "frame");
        for (PhantomSeries series : study.series()) {
            String seriesUid = uid(study, "series/" + series.seriesId());
            for (PhantomSlice slice : series.slices()) {
                DicomDataset ds = dataset(study, series, slice, studyUid, seriesUid,
                        frameOfReference);
                String sopUid = uid(study, "image/" + series.seriesId() + "/"
                        + slice.instanceNumber());
                ds.putUid(Tag.SOPInstanceUID, sopUid);
                ds.writePart10(studyDir.resolve(series.seriesId())
                        .resolve(slice.instanceNumber() + ".dcm"),
                        DicomDataset.MR_IMAGE_STORAGE, sopUid);
            }
        }
        writeCsv(out.resolve(SERIES_CSV), seriesCsv(study), study.studyId());
        writeCsv(out.resolve(GROUND_TRUTH_CSV), groundTruthCsv(study), study.studyId());
        writeCsv(out.resolve(LABEL_COORDINATES_CSV), labelCoordinatesCsv(study),
                study.studyId());
        return studyDir;
    }

    private static DicomDataset dataset(PhantomStudy study, PhantomSeries series,
            PhantomSlice slice, String studyUid, String seriesUid, String frameOfReference) {
        PatientTags patient = study.options().patient();
        SliceGeometry g = slice.geometry();
        DicomDataset ds = new DicomDataset()
                .putString(SPECIFIC_CHARACTER_SET, "CS", "ISO_IR 100")
                .putString(Tag.ImageType, "CS", "ORIGINAL\\PRIMARY\\M\\ND")
                .putUid(Tag.SOPClassUID, DicomDataset.MR_IMAGE_STORAGE)
                .putString(Tag.StudyDate, "DA", "20240315")
                .putString(STUDY_TIME, "TM", "101500")
                .putString(Tag.AccessionNumber, "SH", patient.accessionNumber())
                .putString(Tag.Modality, "CS", "MR")
                .putString(MANUFACTURER, "LO", "lumbar phantom")
                .putString(Tag.InstitutionName, "LO", patient.institution())
                .putString(Tag.ReferringPhysicianName, "PN", patient.referringPhysician())
                .putString(Tag.SeriesDescription, "LO", series.description())
                .putString(Tag.PerformingPhysicianName, "PN", patient.performingPhysician())
                .putString(Tag.OperatorsName, "PN", patient.operator())
                .putString(Tag.PatientName, "PN", patient.name())
                .putString(Tag.PatientID, "LO", patient.id())
                .putString(Tag.PatientBirthDate, "DA", patient.birthDate())
                .putString(Tag.PatientSex, "CS", patient.sex())
                .putString(SCANNING_SEQUENCE, "CS", "SE")
                .putDecimals(Tag.SliceThickness, series.sliceThickness())
                .putDecimals(Tag.RepetitionTime, series.repetitionTime())
                .putDecimals(Tag.EchoTime, series.echoTime())
                .putDecimals(MAGNETIC_FIELD_STRENGTH, 1.5)
                .putDecimals(Tag.SpacingBetweenSlices, series.sliceSpacing())
                .putString(PATIENT_POSITION, "CS", "HFS")
                .putUid(Tag.StudyInstanceUID, studyUid)
                .putUid(Tag.SeriesInstanceUID, seriesUid)
                .putString(Tag.StudyID, "SH", "1")
                .putInteger(Tag.SeriesNumber, series.seriesNumber())
                .putInteger(Tag.InstanceNumber, slice.instanceNumber())
                .putDecimals(Tag.ImagePositionPatient, g.position().toArray())
                .putDecimals(Tag.ImageOrientationPatient, g.rowCosine().x(), g.rowCosine().y(),
                        g.rowCosine().z(), g.columnCosine().x(), g.columnCosine().y(),
                        g.columnCosine().z())
                .putUid(Tag.FrameOfReferenceUID, frameOfReference)
                .putUnsignedShort(Tag.SamplesPerPixel, 1)
                .putString(Tag.PhotometricInterpretation, "CS", "MONOCHROME2")
                .putUnsignedShort(Tag.Rows, g.rows())
                .putUnsignedShort(Tag.Columns, g.columns())
                .putDecimals(Tag.PixelSpacing, g.rowSpacing(), g.columnSpacing())
                .putUnsignedShort(Tag.BitsAllocated, 16)
                .putUnsignedShort(Tag.BitsStored, 12)
                .putUnsignedShort(Tag.HighBit, 11)
                .putUnsignedShort(Tag.PixelRepresentation, 0)
                .putDecimals(Tag.RescaleIntercept, study.options().rescaleIntercept())
                .putDecimals(Tag.RescaleSlope, study.options().rescaleSlope())
                .putPixels16(Tag.PixelData, slice.stored());
        if (series.type() == SeriesType.SAG_T2) {
            ds.putString(SEQUENCE_NAME, "SH", "tse2d1_17");
        }
        return ds;
    }

    private static String seriesCsv(PhantomStudy study) {
        StringBuilder csv = new StringBuilder("study_id,series_id,series_description\n");
        for (PhantomSeries s : study.series()) {
            csv.append(study.studyId()).append(',').append(s.seriesId()).append(',')
                    .append(s.type().description()).append('\n');
        }
        return csv.toString();
    }

    private static String groundTruthCsv(PhantomStudy study) {
        StringBuilder csv = new StringBuilder("study_id,level,target,x,y,z\n");
        for (Landmark l : study.landmarks()) {
            csv.append(String.format(Locale.ROOT, "%s,%s,%s,%.4f,%.4f,%.4f%n", study.studyId(),
                    l.level(), l.target(), l.world().x(), l.world().y(), l.world().z()));
        }
        return csv.toString();
    }

    /**
     * Each target on the series Kaggle's annotators used for it (canal on sagittal T2, foramina
     * on sagittal T1, subarticular zones on axial T2): the nearest slice and the pixel there.
     */
    private static String labelCoordinatesCsv(PhantomStudy study) {
        StringBuilder csv = new StringBuilder(
                "study_id,series_id,instance_number,condition,level,x,y\n");
        for (Landmark l : study.landmarks()) {
            SeriesType type;
            String condition;
            switch (l.target()) {
                case Landmark.SPINAL_CANAL -> {
                    type = SeriesType.SAG_T2;
                    condition = "Spinal Canal Stenosis";
                }
                case Landmark.LEFT_FORAMEN, Landmark.RIGHT_FORAMEN -> {
                    type = SeriesType.SAG_T1;
                    condition = (l.target().startsWith("left") ? "Left" : "Right")
                            + " Neural Foraminal Narrowing";
                }
                case Landmark.LEFT_SUBARTICULAR, Landmark.RIGHT_SUBARTICULAR -> {
                    type = SeriesType.AX_T2;
                    condition = (l.target().startsWith("left") ? "Left" : "Right")
                            + " Subarticular Stenosis";
                }
                default -> {
                    continue;
                }
            }
            PhantomSeries series = study.series().stream().filter(s -> s.type() == type)
                    .findFirst().orElseThrow();
            PhantomSlice nearest = nearestSlice(series.slices(), l.world());
            SliceGeometry g = nearest.geometry();
            Vec3 offset = l.world().minus(g.position());
            double x = offset.dot(g.rowCosine()) / g.columnSpacing();
            double y = offset.dot(g.columnCosine()) / g.rowSpacing();
            String level = l.level().toUpperCase(Locale.ROOT).replace('_', '/');
            csv.append(String.format(Locale.ROOT, "%s,%s,%d,%s,%s,%.3f,%.3f%n", study.studyId(),
                    series.seriesId(), nearest.instanceNumber(), condition, level, x, y));
        }
        return csv.toString();
    }

    private static PhantomSlice nearestSlice(List<PhantomSlice> slices, Vec3 point) {
        PhantomSlice best = slices.getFirst();
        double bestDistance = Double.MAX_VALUE;
        for (PhantomSlice s : slices) {
            double d = Math.abs(s.geometry().plane().signedDistance(point));
            if (d < bestDistance) {
                bestDistance = d;
                best = s;
            }
        }
        return best;
    }

    /** A UID under the 2.25 (UUID) root, derived from the seed, the study and {@code what}. */
    private static String uid(PhantomStudy study, String what) {
        UUID uuid = UUID.nameUUIDFromBytes(("lumbar-phantom/" + study.options().seed() + "/"
                + study.studyId() + "/" + what).getBytes(StandardCharsets.UTF_8));
        java.math.BigInteger value = new java.math.BigInteger(1, java.nio.ByteBuffer.allocate(16)
                .putLong(uuid.getMostSignificantBits()).putLong(uuid.getLeastSignificantBits())
                .array());
        return "2.25." + value;
    }

    /**
     * Writes {@code csv} (header and this study's rows) to {@code file}, after the rows of other
     * studies that the file already holds under the same header.
     */
    private static void writeCsv(Path file, String csv, String studyId) {
        String header = csv.substring(0, csv.indexOf('\n') + 1);
        StringBuilder text = new StringBuilder(header);
        try {
            if (Files.isRegularFile(file)) {
                List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
                if (!lines.isEmpty() && (lines.getFirst() + "\n").equals(header)) {
                    for (String line : lines.subList(1, lines.size())) {
                        if (!line.isBlank() && !line.startsWith(studyId + ",")) {
                            text.append(line).append('\n');
                        }
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + " ("
                    + IoProblems.reason(e, "its folder does not exist") + ")", e);
        }
        text.append(csv, header.length(), csv.length());
        writeText(file, text.toString());
    }

    private static void writeText(Path file, String text) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            AtomicFile.write(file, text.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + " ("
                    + IoProblems.reason(e, "its folder does not exist") + ")", e);
        }
    }
}
