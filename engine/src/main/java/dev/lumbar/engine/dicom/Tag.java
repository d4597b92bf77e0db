package dev.lumbar.engine.dicom;

/** Tags the engine reads, as {@code group << 16 | element} (hexadecimal as in the standard). */
public final class Tag {

    // File meta information (group 0002, always explicit VR little endian).
    public static final int FileMetaInformationGroupLength = 0x0002_0000;
    public static final int MediaStorageSOPClassUID = 0x0002_0002;
    public static final int MediaStorageSOPInstanceUID = 0x0002_0003;
    public static final int TransferSyntaxUID = 0x0002_0010;

    // Identification.
    public static final int ImageType = 0x0008_0008;
    public static final int SOPClassUID = 0x0008_0016;
    public static final int SOPInstanceUID = 0x0008_0018;
    public static final int StudyDate = 0x0008_0020;
    public static final int SeriesDate = 0x0008_0021;
    public static final int AccessionNumber = 0x0008_0050;
    public static final int Modality = 0x0008_0060;
    public static final int InstitutionName = 0x0008_0080;
    public static final int ReferringPhysicianName = 0x0008_0090;
    public static final int SeriesDescription = 0x0008_103E;
    public static final int PerformingPhysicianName = 0x0008_1050;
    public static final int OperatorsName = 0x0008_1070;

    // Patient (identifying: never logged).
    public static final int PatientName = 0x0010_0010;
    public static final int PatientID = 0x0010_0020;
    public static final int PatientBirthDate = 0x0010_0030;
    public static final int PatientSex = 0x0010_0040;

    // Acquisition.
    public static final int SliceThickness = 0x0018_0050;
    public static final int RepetitionTime = 0x0018_0080;
    public static final int EchoTime = 0x0018_0081;
    public static final int InversionTime = 0x0018_0082;
    public static final int SpacingBetweenSlices = 0x0018_0088;

    // Relationship and geometry.
    public static final int StudyInstanceUID = 0x0020_000D;
    public static final int SeriesInstanceUID = 0x0020_000E;
    public static final int StudyID = 0x0020_0010;
    public static final int SeriesNumber = 0x0020_0011;
    public static final int AcquisitionNumber = 0x0020_0012;
    public static final int InstanceNumber = 0x0020_0013;
    public static final int ImagePositionPatient = 0x0020_0032;
    public static final int ImageOrientationPatient = 0x0020_0037;
    public static final int FrameOfReferenceUID = 0x0020_0052;
    public static final int SliceLocation = 0x0020_1041;

    // Image pixel module.
    public static final int SamplesPerPixel = 0x0028_0002;
    public static final int PhotometricInterpretation = 0x0028_0004;
    public static final int PlanarConfiguration = 0x0028_0006;
    public static final int NumberOfFrames = 0x0028_0008;
    public static final int Rows = 0x0028_0010;
    public static final int Columns = 0x0028_0011;
    public static final int PixelSpacing = 0x0028_0030;
    public static final int BitsAllocated = 0x0028_0100;
    public static final int BitsStored = 0x0028_0101;
    public static final int HighBit = 0x0028_0102;
    public static final int PixelRepresentation = 0x0028_0103;
    public static final int WindowCenter = 0x0028_1050;
    public static final int WindowWidth = 0x0028_1051;
    public static final int RescaleIntercept = 0x0028_1052;
    public static final int RescaleSlope = 0x0028_1053;

    public static final int PixelData = 0x7FE0_0010;

    // Sequence delimiters (group FFFE never has a VR, even in explicit VR syntaxes).
    public static final int Item = 0xFFFE_E000;
    public static final int ItemDelimitationItem = 0xFFFE_E00D;
    public static final int SequenceDelimitationItem = 0xFFFE_E0DD;

    /** The tags whose values identify a person or an institution; they must never be logged. */
    public static final int[] IDENTIFYING = {
        PatientName, PatientID, PatientBirthDate, AccessionNumber, InstitutionName,
        ReferringPhysicianName, PerformingPhysicianName, OperatorsName
    };

    private Tag() {
    }

    /** {@code (gggg,eeee)}, the standard's notation. */
    public static String toString(int tag) {
        return String.format("(%04X,%04X)", tag >>> 16, tag & 0xFFFF);
    }
}
