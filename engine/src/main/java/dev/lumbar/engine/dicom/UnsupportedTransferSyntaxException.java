package dev.lumbar.engine.dicom;

import dev.lumbar.engine.Redaction;
import java.nio.file.Path;

/** The file is well formed but its pixel data is encoded in a syntax this reader cannot decode. */
public class UnsupportedTransferSyntaxException extends DicomException {

    private final String transferSyntaxUid;

    public UnsupportedTransferSyntaxException(Path file, String transferSyntaxUid) {
        super(file, Redaction.registryUid("transfer syntax", transferSyntaxUid) + " ("
                + TransferSyntax.describe(transferSyntaxUid) + ") is not supported");
        this.transferSyntaxUid = transferSyntaxUid;
    }

    public String transferSyntaxUid() {
        return transferSyntaxUid;
    }
}
