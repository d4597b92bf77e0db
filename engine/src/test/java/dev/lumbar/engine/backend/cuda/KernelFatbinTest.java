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
    void declaredParametersMatchTheCompiledKernels() {
        String image = fatbinOrSkip();
        List<String> mismatches = new ArrayList<>();
        for (Kernel kernel : Kernel.values()) {
            int entry = image.indexOf(".entry " + kernel.symbol() + "(");
            int end = image.indexOf(')', entry);
            // PTX passes pointers and long long as .u64, int as .u32, float as .f32.
            StringBuilder ptx = new StringBuilder();
            java.util.regex.Matcher param = java.util.regex.Pattern
                    .compile("\\.param \\.(u64|u32|s32|s64|f32)")
                    .matcher(image.substring(entry, end));
            while (param.find()) {
                ptx.append(switch (param.group(1)) {
                    case "u64", "s64" -> 'L';
                    case "u32", "s32" -> 'i';
                    default -> 'f';
                });
            }
            String declared = kernel.parameters().replace('p', 'L').replace('l', 'L');
            if (!declared.contentEquals(ptx)) {
                mismatches.add(kernel.symbol() + ": declared " + kernel.parameters()
                        + ", compiled " + ptx);
            }
        }
        assertEquals(List.of(), mismatches);
    }

    @Test
    void carriesPtxForNewerChipsAndSassForHopper() {
        String image = fatbinOrSkip();
        assertTrue(image.contains(".target sm_90"), "no compute_90 PTX in the fatbin");
        assertTrue(image.contains("\u007fELF"), "no cubin in the fatbin");
    }
}
