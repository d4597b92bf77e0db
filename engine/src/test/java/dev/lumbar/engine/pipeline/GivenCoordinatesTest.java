package dev.lumbar.engine.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.lumbar.engine.spine.Condition;
import dev.lumbar.engine.spine.Level;
import dev.lumbar.engine.study.StudyScanner;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GivenCoordinatesTest {

    @TempDir
    Path folder;

    @Test
    void readsKagglesCoordinateFile() throws IOException {
        String shared = System.getProperty("lumbar.shared.dir");
        assumeTrue(shared != null);
        Path file = Path.of(shared, "data", "rsna-format", "train_label_coordinates.head.csv");
        assumeTrue(Files.isRegularFile(file));

        List<GivenCoordinates.Point> points = GivenCoordinates.read(file).forStudy("4003253");

        assertTrue(points.size() >= 4);
        GivenCoordinates.Point first = points.getFirst();
        assertEquals("702807833", first.seriesId());
        assertEquals(8, first.instance());
        assertEquals(Condition.SPINAL_CANAL_STENOSIS, first.target().condition());
        assertEquals(Level.L1_L2, first.target().level());
        assertEquals(322.831858, first.x(), 1e-9);
        assertEquals(227.964602, first.y(), 1e-9);
    }

    /** A series folder named by UID is shown masked; its rows name it by the UID. */
    @Test
    void aSeriesNamedByUidIsTakenAsTheScannerShowsIt() throws IOException {
        Path file = folder.resolve("c.csv");
        Files.writeString(file, """
                study_id,series_id,instance_number,condition,level,x,y
                1.2.826.0.1.77,1.2.826.0.1.3680043.8.498.12345,3,Spinal Canal Stenosis,L1/L2,10,20
                """);
        List<GivenCoordinates.Point> points = GivenCoordinates.read(file)
                .forStudy("1.2.826.0.1.77");
        assertEquals(1, points.size());
        assertEquals(StudyScanner.seriesName("1.2.826.0.1.3680043.8.498.12345"),
                points.getFirst().seriesId());
        assertTrue(points.getFirst().seriesId().startsWith("…2345-"), points.toString());
    }

    @Test
    void badRowsNameTheFileAndLine() throws IOException {
        Path file = folder.resolve("c.csv");
        Files.writeString(file, """
                study_id,series_id,instance_number,condition,level,x,y
                1,2,3,Spinal Canal Stenosis,L1/L2,10,20
                1,2,3,Spinal Canal Stenosis,L9/S9,10,20
                """);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GivenCoordinates.read(file));
        assertTrue(e.getMessage().contains("c.csv: line 3"), e.getMessage());
        assertTrue(e.getMessage().contains("L9/S9"), e.getMessage());

        // a cell echoed in the error is shown as identifiers are elsewhere
        Files.writeString(file, """
                study_id,series_id,instance_number,condition,level,x,y
                1,2,3,1.2.840.113619.2.55.3.604688119,L1/L2,10,20
                """);
        e = assertThrows(IllegalArgumentException.class, () -> GivenCoordinates.read(file));
        assertTrue(e.getMessage().contains("unknown condition '<uid withheld>'"), e.getMessage());

        Files.writeString(file, "study_id,series_id,x,y\n");
        e = assertThrows(IllegalArgumentException.class, () -> GivenCoordinates.read(file));
        assertTrue(e.getMessage().contains("instance_number"), e.getMessage());
    }

    @Test
    void onlyPlainDecimalsAreNumbersAndAColumnNamedTwiceIsRefused() throws IOException {
        String header = "study_id,series_id,instance_number,condition,level,x,y\n";
        for (String x : new String[] {"0x1p4", "1.5f", "1d", "1_0", "\u0661\u0664"}) {
            Path file = Files.writeString(folder.resolve("n.csv"), header
                    + "1,2,3,Spinal Canal Stenosis,L1/L2," + x + ",4\n");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> GivenCoordinates.read(file), x);
            assertTrue(e.getMessage().contains("line 2: instance_number, x and y must be"
                    + " numbers"), e.getMessage());
        }
        for (String instance : new String[] {"\u0669", "\uff19", "9.0"}) {
            Path file = Files.writeString(folder.resolve("i.csv"), header
                    + "1,2," + instance + ",Spinal Canal Stenosis,L1/L2,3,4\n");
            assertThrows(IllegalArgumentException.class, () -> GivenCoordinates.read(file),
                    instance);
        }
        Path plain = Files.writeString(folder.resolve("p.csv"), header
                + "1,2,3,Spinal Canal Stenosis,L1/L2,-1.5e1,.5\n");
        GivenCoordinates.Point point = GivenCoordinates.read(plain).forStudy("1").getFirst();
        assertEquals(-15, point.x(), 0);
        assertEquals(0.5, point.y(), 0);

        Path twice = Files.writeString(folder.resolve("t.csv"),
                "study_id,series_id,instance_number,condition,level,x,y,x\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GivenCoordinates.read(twice));
        assertEquals(twice + ": column 'x' appears twice in the header; keep one",
                e.getMessage());
    }

    @Test
    void aRowThatIsNotFiniteIsKeptWithItsLineForTheStudyToRefuse() throws IOException {
        Path file = folder.resolve("c.csv");
        Files.writeString(file, """
                study_id,series_id,instance_number,condition,level,x,y
                1,2,3,Spinal Canal Stenosis,L1/L2,NaN,20
                1,2,3,Spinal Canal Stenosis,L2/L3,10,1e400
                """);
        List<GivenCoordinates.Point> points = GivenCoordinates.read(file).forStudy("1");
        assertEquals(2, points.size());
        assertTrue(Double.isNaN(points.get(0).x()));
        assertEquals(file + ": line 2", points.get(0).source());
        assertTrue(Double.isInfinite(points.get(1).y()));
        assertEquals(file + ": line 3", points.get(1).source());
    }

    /** pandas writes inf and -inf; like NaN, they cost their row alone, not the run. */
    @Test
    void everySpellingOfANonFiniteValueIsKeptForTheStudyToRefuse() throws IOException {
        Path file = folder.resolve("c.csv");
        Files.writeString(file, """
                study_id,series_id,instance_number,condition,level,x,y
                1,2,3,Spinal Canal Stenosis,L1/L2,inf,20
                1,2,3,Spinal Canal Stenosis,L2/L3,10,-inf
                1,2,3,Spinal Canal Stenosis,L3/L4,+Infinity,20
                1,2,3,Spinal Canal Stenosis,L4/L5, nan ,20
                1,2,3,Spinal Canal Stenosis,L5/S1,-INF,20
                """);
        List<GivenCoordinates.Point> points = GivenCoordinates.read(file).forStudy("1");
        assertEquals(5, points.size());
        assertEquals(Double.POSITIVE_INFINITY, points.get(0).x());
        assertEquals(Double.NEGATIVE_INFINITY, points.get(1).y());
        assertEquals(Double.POSITIVE_INFINITY, points.get(2).x());
        assertTrue(Double.isNaN(points.get(3).x()));
        assertEquals(Double.NEGATIVE_INFINITY, points.get(4).x());
        assertEquals(file + ": line 6", points.get(4).source());
    }

    @Test
    void aCellThatIsNoNumberStopsTheReadingNamingTheFileAndLine() throws IOException {
        Path file = folder.resolve("c.csv");
        Files.writeString(file, """
                study_id,series_id,instance_number,condition,level,x,y
                1,2,3,Spinal Canal Stenosis,L1/L2,10,20
                1,2,abc,Spinal Canal Stenosis,L2/L3,10,20
                """);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GivenCoordinates.read(file));
        assertEquals(file + ": line 3: instance_number, x and y must be numbers",
                e.getMessage());

        Files.writeString(file, """
                study_id,series_id,instance_number,condition,level,x,y
                1,2,3,Spinal Canal Stenosis,L1/L2,10,infinite
                """);
        e = assertThrows(IllegalArgumentException.class, () -> GivenCoordinates.read(file));
        assertEquals(file + ": line 2: instance_number, x and y must be numbers",
                e.getMessage());
    }
}
