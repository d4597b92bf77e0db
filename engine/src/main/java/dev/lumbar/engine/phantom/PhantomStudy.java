package dev.lumbar.engine.phantom;

import java.util.List;

/** A generated study: its folder name, the three series, and the ground-truth landmarks. */
public record PhantomStudy(String studyId, PhantomOptions options, List<PhantomSeries> series,
        List<Landmark> landmarks) {}
