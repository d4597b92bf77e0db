package dev.lumbar.engine.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.backend.cpu.CpuBackend;
import dev.lumbar.engine.io.Npy;
import dev.lumbar.engine.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Stage-2 members converted from checkpoints shaped like the winners' models grade a bag as
 * PyTorch does: encoder per instance, then the head, end to end through {@link CardNetworks}.
 * Fixtures: {@code weights/tools/make_pipeline_fixtures.py}.
 */
class SolutionParityTest {

    private static final Path FIXTURES = Path.of("src", "test", "resources", "fixtures",
            "pipeline");

    @ParameterizedTest
    @ValueSource(strings = {"mil_first_place", "pool_second_place"})
    void convertedMemberMatchesPyTorch(String name) throws IOException {
        try (CpuBackend backend = new CpuBackend(1);
                CardNetworks networks = new CardNetworks(backend);
                Tensor bags = Npy.read(FIXTURES.resolve(name + ".check_input.npy"));
                Tensor expected = Npy.read(FIXTURES.resolve(name + ".check_logits.npy"))) {
            Networks.Grades grades = networks.grader(FIXTURES.resolve(name + ".model.json"))
                    .grade(bags);

            float[] want = expected.toFloatArray();
            int classes = expected.size(1);
            double scale = 0;
            for (float v : want) {
                scale = Math.max(scale, Math.abs(v));
            }
            for (int b = 0; b < expected.size(0); b++) {
                for (int k = 0; k < classes; k++) {
                    double got = grades.logits()[b][k];
                    double error = Math.abs(got - want[b * classes + k]) / Math.max(scale, 1e-3);
                    assertTrue(error < 1e-4, name + " bag " + b + " class " + k + ": " + got
                            + " vs " + want[b * classes + k]);
                }
            }
            if (name.startsWith("mil")) {
                for (float[] alpha : grades.attention()) {
                    double sum = 0;
                    for (float a : alpha) {
                        sum += a;
                    }
                    assertEquals(1, sum, 1e-5);
                }
            } else {
                assertNull(grades.attention());
            }
        }
    }
}
