package dev.lumbar.engine.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The fatbin the kernels module builds holds every kernel the backend looks up, as SASS for
 * sm_90 and as PTX (the fatbin is built uncompressed, so names and PTX text are readable).
 */
class KernelFatbinTest {

    private static String fatbinOrSkip() {
        Optional<byte[]> fatbin = CudaKernels.fatbin();
        assumeTrue(fatbin.isPresent(), "kernels not built (no nvcc when this was built)");
        return new String(fatbin.get(), StandardCharsets.ISO_8859_1);
    }

    @Test
    void holdsEveryKernelTheBackendLooksUp() {
        String image = fatbinOrSkip();
        List<String> missing = new ArrayList<>();
        for (Kernel kernel : Kernel.values()) {
            // Each kernel is an ELF symbol of the sm_90 cubin and a .entry of the PTX.
            if (!image.contains(kernel.symbol() + "\0")
                    || !image.contains(".entry " + kernel.symbol() + "(")) {
                missing.add(kernel.symbol());
            }
        }
        assertEquals(List.of(), missing);
    }

    @Test
    void carriesPtxForNewerChipsAndSassForHopper() {
        String image = fatbinOrSkip();
        assertTrue(image.contains(".target sm_90"), "no compute_90 PTX in the fatbin");
        assertTrue(image.contains("\u007fELF"), "no cubin in the fatbin");
    }
}
