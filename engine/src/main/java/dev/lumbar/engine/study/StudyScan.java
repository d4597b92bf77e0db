package dev.lumbar.engine.study;

import java.util.List;

/**
 * What a scan of a folder found: the studies, warnings that belong to no study (files that could
 * not be attributed), how many files had their header read, and how long that took.
 */
public record StudyScan(List<Study> studies, List<String> warnings, int filesRead,
        long headerNanos) {

    public StudyScan {
        studies = List.copyOf(studies);
        warnings = List.copyOf(warnings);
    }
}
