package dev.lumbar.engine.phantom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The bundled demo study is exactly what {@code lumbar phantom --seed 1} writes today. */
class DemoStudyTest {

    private static final Path DEMO = Path.of("..", "weights", "demo", "study");

    @Test
    void bundledDemoStudyIsReproducible(@TempDir Path dir) throws Exception {
        assumeTrue(Files.isRegularFile(DEMO.resolve(PhantomWriter.SERIES_CSV)),
                "run from the engine module of a checkout with the demo study");
        PhantomWriter.write(PhantomGenerator.generate(PhantomOptions.of(1)), dir);
        List<Path> made = files(dir);
        assertEquals(made, files(DEMO).stream().filter(p -> !p.toString().equals("README.md"))
                .toList());
        for (Path f : made) {
            assertArrayEquals(Files.readAllBytes(dir.resolve(f)),
                    Files.readAllBytes(DEMO.resolve(f)), f.toString());
        }
    }

    private static List<Path> files(Path root) throws Exception {
        try (Stream<Path> walk = Files.walk(root)) {
            return walk.filter(Files::isRegularFile).map(root::relativize).sorted().toList();
        }
    }
}
