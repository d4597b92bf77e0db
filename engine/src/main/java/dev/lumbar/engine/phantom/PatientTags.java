package dev.lumbar.engine.phantom;

import java.util.List;
import java.util.SplittableRandom;

/**
 * The identifying tags the phantom writes. They are fake but look real, so that a test can plant
 * recognisable values and prove that no output ever repeats them.
 *
 * @param name PatientName (PN, {@code FAMILY^GIVEN})
 * @param id PatientID
 * @param birthDate PatientBirthDate, {@code YYYYMMDD}
 * @param sex PatientSex, M, F or O
 * @param accessionNumber AccessionNumber
 * @param institution InstitutionName
 * @param referringPhysician ReferringPhysicianName (PN)
 * @param performingPhysician PerformingPhysicianName (PN)
 * @param operator OperatorsName (PN)
 */
public record PatientTags(String name, String id, String birthDate, String sex,
        String accessionNumber, String institution, String referringPhysician,
        String performingPhysician, String operator) {

    /**
     * A birth date must be empty (DICOM allows an unknown one) or a real calendar date written
     * YYYYMMDD; the message does not repeat the value, which is a patient identifier.
     */
    public PatientTags {
        if (birthDate != null && !birthDate.isEmpty()) {
            boolean valid = birthDate.matches("[0-9]{8}");
            if (valid) {
                try {
                    java.time.LocalDate.parse(birthDate,
                            java.time.format.DateTimeFormatter.BASIC_ISO_DATE);
                } catch (java.time.format.DateTimeParseException e) {
                    valid = false;
                }
            }
            if (!valid) {
                throw new IllegalArgumentException("birth date must be a calendar date written"
                        + " YYYYMMDD, e.g. 19700101 (or empty)");
            }
        }
    }

    private static final List<String> FAMILY = List.of("MUELLER", "GARCIA", "OKAFOR", "TANAKA",
            "LINDQVIST", "ROSSI", "NOWAK", "DUBOIS");
    private static final List<String> GIVEN = List.of("ANNA", "LUIS", "CHIDI", "YUKI", "ERIK",
            "GIULIA", "MAREK", "CLAIRE");

    /** Plausible fake values drawn from {@code seed}. */
    public static PatientTags fake(long seed) {
        SplittableRandom random = new SplittableRandom(seed ^ 0x5DEECE66DL);
        String family = FAMILY.get(random.nextInt(FAMILY.size()));
        String given = GIVEN.get(random.nextInt(GIVEN.size()));
        int year = 1940 + random.nextInt(50);
        int month = 1 + random.nextInt(12);
        int day = 1 + random.nextInt(28);
        return new PatientTags(family + "^" + given,
                String.format("MRN%07d", random.nextInt(10_000_000)),
                String.format("%04d%02d%02d", year, month, day),
                random.nextBoolean() ? "F" : "M",
                String.format("ACC%08d", random.nextInt(100_000_000)),
                "ST ELSEWHERE GENERAL HOSPITAL",
                FAMILY.get(random.nextInt(FAMILY.size())) + "^DR",
                FAMILY.get(random.nextInt(FAMILY.size())) + "^RAD",
                FAMILY.get(random.nextInt(FAMILY.size())) + "^TECH");
    }
}
