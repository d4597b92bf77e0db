package dev.lumbar.engine.spine;

import java.util.Arrays;
import java.util.Optional;

/** The three MRI series a lumbar study brings, as the competition types them. */
public enum SeriesType {
    SAG_T1("Sagittal T1"),
    SAG_T2("Sagittal T2/STIR"),
    AX_T2("Axial T2");

    private final String description;

    SeriesType(String description) {
        this.description = description;
    }

    /** The {@code series_description} of Kaggle's series CSV files, e.g. {@code Axial T2}. */
    public String description() {
        return description;
    }

    /** Sagittal series see the spine from the side; axial ones cut across it. */
    public boolean isSagittal() {
        return this != AX_T2;
    }

    /** The type whose Kaggle {@code series_description} is {@code description}, ignoring case. */
    public static Optional<SeriesType> fromDescription(String description) {
        String wanted = description.strip();
        return Arrays.stream(values()).filter(t -> t.description.equalsIgnoreCase(wanted))
                .findFirst();
    }
}
