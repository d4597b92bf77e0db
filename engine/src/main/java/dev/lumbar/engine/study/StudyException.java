package dev.lumbar.engine.study;

import java.io.IOException;

/**
 * A study folder, series CSV or stack that cannot be used as given; the message names the
 * file, series or stack and the problem, never a patient identifier.
 */
public class StudyException extends IOException {

    public StudyException(String message) {
        super(message);
    }

    public StudyException(String message, Throwable cause) {
        super(message, cause);
    }
}
