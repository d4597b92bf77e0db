package dev.lumbar.engine.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The reported disc tilt lies in (-180, 180] whichever way the spine runs. */
class PredictionReportTiltTest {

    @Test
    void tiltIsWrappedIntoOneTurnAroundZero() {
        assertEquals(0, PredictionReport.tiltDegrees(0, 1), 1e-9);
        assertEquals(-45, PredictionReport.tiltDegrees(1, 1), 1e-9);
        assertEquals(45, PredictionReport.tiltDegrees(-1, 1), 1e-9);
        // a spine running up the image: -180 before wrapping, reported as 180
        assertEquals(180, PredictionReport.tiltDegrees(0, -1), 1e-9);
        // a spine running left and slightly up: -270 + a bit before wrapping
        double wrapped = PredictionReport.tiltDegrees(-1, -0.01);
        assertEquals(90 + Math.toDegrees(Math.atan(0.01)), wrapped, 1e-9);
        for (int a = 0; a < 360; a += 7) {
            double t = PredictionReport.tiltDegrees(Math.cos(Math.toRadians(a)),
                    Math.sin(Math.toRadians(a)));
            assertEquals(true, t > -180 && t <= 180, a + " gave " + t);
        }
    }
}
