package dev.lumbar.engine.batch;

/** A study ran past its time limit and was abandoned. */
public final class StudyTimeoutException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public StudyTimeoutException(String message) {
        super(message);
    }
}
