package dev.lumbar.cli;

import dev.lumbar.engine.dicom.Tag;
import dev.lumbar.engine.phantom.PatientTags;
import dev.lumbar.engine.phantom.PhantomGenerator;
import dev.lumbar.engine.phantom.PhantomOptions;
import dev.lumbar.engine.phantom.PhantomWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A phantom study whose every identifying element holds a canary: a value that no correct output
 * can contain by chance. The phantom writes the patient and physician tags; each file is then
 * rewritten element by element (explicit VR little endian, as the phantom writes) to add the
 * address, other-ID, description and study-ID canaries and to replace every UID with a canary
 * UID.
 */
final class CanaryStudy {

    /** What a leak would look like: any of these, in any case, in any output. */
    static final List<String> TOKENS = List.of("ZZCANARY", "TWEETY", "19230417", "1923-04-17",
            "3133731337");

    static final PatientTags PATIENT = new PatientTags("ZZCANARYNAME^TWEETY", "ZZCANARYPID",
            "19230417", "O", "ZZCANARYACC", "ZZCANARY INSTITUTE", "ZZCANARYREF^DOC",
            "ZZCANARYPERF^DOC", "ZZCANARYOPER^DOC");

    private static final String UID_ROOT = "1.2.826.0.1.3680043.3133731337.";
    private static final int STUDY_DESCRIPTION = 0x0008_1030;
    private static final int INSTITUTION_ADDRESS = 0x0008_0081;
    private static final int OTHER_PATIENT_IDS = 0x0010_1000;
    private static final int PATIENT_ADDRESS = 0x0010_1040;
    private static final int MEDIA_STORAGE_SOP_INSTANCE_UID = 0x0002_0003;
    private static final Set<String> LONG_LENGTH_VRS = Set.of("OB", "OD", "OF", "OL", "OV",
            "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV");

    /** Elements set on every file beyond those the phantom writes: tag → (VR, value). */
    private static final Map<Integer, String[]> EXTRA = Map.of(
            Tag.StudyID, new String[] {"SH", "ZZCANARYSTUDY"},
            STUDY_DESCRIPTION, new String[] {"LO", "ZZCANARY LUMBAR OF TWEETY"},
            INSTITUTION_ADDRESS, new String[] {"ST", "ZZCANARY STREET 1"},
            OTHER_PATIENT_IDS, new String[] {"LO", "ZZCANARYOTHERID"},
            PATIENT_ADDRESS, new String[] {"LO", "ZZCANARY LANE 2"});

    private CanaryStudy() {
    }

    /** Writes the canary study {@code studyId} in the Kaggle layout under {@code root}. */
    static Path write(Path root, String studyId, long seed) throws IOException {
        PhantomWriter.write(PhantomGenerator.generate(PhantomOptions.of(seed)
                .withStudyId(studyId).withPatient(PATIENT)), root);
        Path studyDir = root.resolve(studyId);
        Map<String, String> uids = new HashMap<>();
        try (Stream<Path> files = Files.walk(studyDir)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".dcm")).toList()) {
                Files.write(file, rewrite(Files.readAllBytes(file), uids, file));
            }
        }
        if (uids.isEmpty()) {
            throw new IllegalStateException("no UID was replaced under " + studyDir);
        }
        return studyDir;
    }

    private record Element(int tag, String vr, byte[] value) {
    }

    private static byte[] rewrite(byte[] bytes, Map<String, String> uids, Path file) {
        if (bytes.length < 132 || !new String(bytes, 128, 4, StandardCharsets.US_ASCII)
                .equals("DICM")) {
            throw new IllegalStateException(file + ": not a Part 10 file");
        }
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        Map<Integer, Element> elements = new HashMap<>();
        int pos = 132;
        while (pos < bytes.length) {
            int tag = (in.getShort(pos) & 0xFFFF) << 16 | in.getShort(pos + 2) & 0xFFFF;
            String vr = new String(bytes, pos + 4, 2, StandardCharsets.US_ASCII);
            long length;
            int valueAt;
            if (LONG_LENGTH_VRS.contains(vr)) {
                length = in.getInt(pos + 8) & 0xFFFF_FFFFL;
                valueAt = pos + 12;
            } else {
                length = in.getShort(pos + 6) & 0xFFFF;
                valueAt = pos + 8;
            }
            if (length > bytes.length - valueAt) {
                throw new IllegalStateException(file + ": element " + Integer.toHexString(tag)
                        + " of undefined or impossible length");
            }
            byte[] value = java.util.Arrays.copyOfRange(bytes, valueAt, valueAt + (int) length);
            elements.put(tag, new Element(tag, vr, value));
            pos = valueAt + (int) length;
        }

        // every UID, meta group included, becomes a canary UID (the same one wherever it recurs)
        for (Element e : List.copyOf(elements.values())) {
            if (e.vr().equals("UI") && e.tag() != Tag.TransferSyntaxUID
                    && e.tag() != Tag.SOPClassUID && e.tag() != 0x0002_0002
                    && e.tag() != 0x0002_0012) {
                String old = new String(e.value(), StandardCharsets.US_ASCII).replace("\0", "")
                        .strip();
                String canary = uids.computeIfAbsent(old, k -> UID_ROOT + (uids.size() + 1));
                elements.put(e.tag(), new Element(e.tag(), "UI", padded(canary, (byte) 0)));
            }
        }
        for (Map.Entry<Integer, String[]> extra : EXTRA.entrySet()) {
            elements.put(extra.getKey(), new Element(extra.getKey(), extra.getValue()[0],
                    padded(extra.getValue()[1], (byte) ' ')));
        }
        if (!elements.containsKey(MEDIA_STORAGE_SOP_INSTANCE_UID)) {
            throw new IllegalStateException(file + ": no MediaStorageSOPInstanceUID");
        }

        // meta group first with its length recomputed, then the data set, in tag order
        List<Element> sorted = new ArrayList<>(elements.values());
        sorted.sort((a, b) -> Integer.compareUnsigned(a.tag(), b.tag()));
        ByteArrayOutputStream meta = new ByteArrayOutputStream();
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        for (Element e : sorted) {
            if (e.tag() == Tag.FileMetaInformationGroupLength) {
                continue;
            }
            writeElement(e.tag() >>> 16 == 0x0002 ? meta : data, e);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[128]);
        out.writeBytes("DICM".getBytes(StandardCharsets.US_ASCII));
        writeElement(out, new Element(Tag.FileMetaInformationGroupLength, "UL", ByteBuffer
                .allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(meta.size()).array()));
        out.writeBytes(meta.toByteArray());
        out.writeBytes(data.toByteArray());
        return out.toByteArray();
    }

    private static byte[] padded(String text, byte pad) {
        byte[] raw = text.toUpperCase(Locale.ROOT).getBytes(StandardCharsets.ISO_8859_1);
        if (raw.length % 2 == 0) {
            return raw;
        }
        byte[] even = java.util.Arrays.copyOf(raw, raw.length + 1);
        even[raw.length] = pad;
        return even;
    }

    private static void writeElement(ByteArrayOutputStream out, Element e) {
        ByteBuffer header = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
        header.putShort((short) (e.tag() >>> 16)).putShort((short) e.tag());
        header.put(e.vr().getBytes(StandardCharsets.US_ASCII));
        if (LONG_LENGTH_VRS.contains(e.vr())) {
            header.putShort((short) 0).putInt(e.value().length);
        } else {
            header.putShort((short) e.value().length);
        }
        out.write(header.array(), 0, header.position());
        out.writeBytes(e.value());
    }
}
