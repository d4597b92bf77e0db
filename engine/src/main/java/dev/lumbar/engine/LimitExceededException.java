package dev.lumbar.engine;

import java.io.IOException;

/**
 * An input or resource beyond one of the {@link Limits}, where no reader's own exception type
 * fits (readers report their limits with their own types, so callers that catch those still do).
 */
public final class LimitExceededException extends IOException {

    private static final long serialVersionUID = 1L;

    public LimitExceededException(String message) {
        super(message);
    }
}
