package dev.lumbar.engine.report;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which weights a result came from: the model's name, its weights file's name and the file's
 * SHA-256, so that two reports can be compared knowing whether the same weights ran.
 */
public record ModelFingerprint(String name, String weightsFile, String sha256) {

    /** Hashes {@code weights} (streamed, so multi-gigabyte files need no memory). */
    public static ModelFingerprint of(String name, Path weights) throws IOException {
        return new ModelFingerprint(name, weights.getFileName().toString(),
                sha256(List.of(weights)));
    }

    /**
     * The SHA-256 of {@code files}' bytes one after another, in the order given: what an
     * ensemble's settings were, its manifest and model cards together, where the weights'
     * own hashes do not tell (a temperature, a bag's size).
     */
    public static String sha256(List<Path> files) throws IOException {
        MessageDigest digest = newSha256();
        byte[] buffer = new byte[1 << 20];
        for (Path file : files) {
            try (InputStream in = Files.newInputStream(file)) {
                int read;
                while ((read = in.read(buffer)) > 0) {
                    digest.update(buffer, 0, read);
                }
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    /** The SHA-256 of {@code content}, in lower-case hex: that of a file holding it. */
    public static String sha256(byte[] content) {
        return HexFormat.of().formatHex(newSha256().digest(content));
    }

    private static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this Java runtime lacks SHA-256", e);
        }
    }

    Map<String, Object> toMap() {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("name", name);
        map.put("weights", weightsFile);
        map.put("sha256", sha256);
        return map;
    }
}
