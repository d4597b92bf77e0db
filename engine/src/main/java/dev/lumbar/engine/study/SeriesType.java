package dev.lumbar.engine.study;

/** The three series a lumbar study is graded from. */
public enum SeriesType {
    SAG_T1("Sagittal T1"),
    SAG_T2("Sagittal T2/STIR"),
    AX_T2("Axial T2");

    private final String kaggleDescription;

    SeriesType(String kaggleDescription) {
        this.kaggleDescription = kaggleDescription;
    }

    /** The series_description Kaggle's series CSV uses for this type. */
    public String kaggleDescription() {
        return kaggleDescription;
    }

    public boolean isSagittal() {
        return this != AX_T2;
    }
}
