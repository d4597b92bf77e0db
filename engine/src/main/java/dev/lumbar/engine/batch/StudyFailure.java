package dev.lumbar.engine.batch;

import dev.lumbar.bindings.CudaException;
import dev.lumbar.engine.Redaction;

/**
 * Why a study failed, in the words of its reader: a kind for machines and a sentence for people.
 * UIDs in the sentence are masked.
 *
 * @param kind    what class of failure it was
 * @param message what went wrong, without patient identifiers
 */
public record StudyFailure(Kind kind, String message) {

    /** Classes of failure; {@link #jsonName()} is what reports write. */
    public enum Kind {
        /** Past the per-study time limit. */
        TIMEOUT("timeout"),
        /** The Java heap was exhausted. */
        OUT_OF_MEMORY("out_of_memory"),
        /** The GPU ran out of memory even on the CPU path's retry, or no CPU path was allowed. */
        DEVICE_OUT_OF_MEMORY("device_out_of_memory"),
        /** A native library reported an error. */
        NATIVE("native_error"),
        /** Anything else: unreadable input, an inconsistent model, a bug. */
        ERROR("error");

        private final String jsonName;

        Kind(String jsonName) {
            this.jsonName = jsonName;
        }

        public String jsonName() {
            return jsonName;
        }
    }

    public StudyFailure {
        message = Redaction.withoutUids(message);
    }

    /** The failure a job's throwable stands for. */
    public static StudyFailure of(Throwable failure, StudyDeadline deadline) {
        if (failure instanceof StudyTimeoutException) {
            return new StudyFailure(Kind.TIMEOUT, deadline.message());
        }
        if (failure instanceof OutOfMemoryError) {
            return new StudyFailure(Kind.OUT_OF_MEMORY, "ran out of Java heap memory; give the"
                    + " JVM more (-Xmx) or run fewer studies at once (--workers)");
        }
        if (failure instanceof StackOverflowError) {
            return new StudyFailure(Kind.ERROR, "ran out of stack space (StackOverflowError);"
                    + " the study's input is deeper than the reader allows");
        }
        if (DeviceOutOfMemory.is(failure)) {
            return new StudyFailure(Kind.DEVICE_OUT_OF_MEMORY, "the GPU ran out of memory: "
                    + text(failure));
        }
        for (Throwable t = failure; t != null && t.getCause() != t; t = t.getCause()) {
            if (t instanceof CudaException) {
                return new StudyFailure(Kind.NATIVE, "a GPU library failed: " + text(t));
            }
        }
        return new StudyFailure(Kind.ERROR, text(failure));
    }

    private static String text(Throwable t) {
        String text = t.getMessage();
        return text == null || text.isBlank() ? t.getClass().getSimpleName() : text;
    }
}
