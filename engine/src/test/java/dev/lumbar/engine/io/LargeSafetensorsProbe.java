package dev.lumbar.engine.io;

import dev.lumbar.engine.tensor.Tensor;
import java.nio.file.Path;

/**
 * Run in a child JVM with a small heap by {@link SafetensorsLargeFileTest}: opens the file
 * named by the first argument, reads every tensor, and prints what it found.
 */
public final class LargeSafetensorsProbe {

    private LargeSafetensorsProbe() {
    }

    public static void main(String[] args) throws Exception {
        try (Safetensors weights = Safetensors.open(Path.of(args[0]))) {

            // every element of the big tensor, straight from the mapping
            Tensor big = weights.view("big");
            long n = big.numel();
            double sum = 0;
            for (long i = 0; i < n; i++) {
                sum += big.getFloat(i);
            }
            System.out.println("big.numel=" + n);
            System.out.println("big.first=" + big.getFloat(0));
            System.out.println("big.last=" + big.getFloat(n - 1));
            System.out.println("big.sum=" + sum);

            // small tensors copied out, one of them widened
            try (Tensor head = weights.f32("head"); Tensor tail = weights.f32("tail")) {
                System.out.println("head=" + java.util.Arrays.toString(head.toFloatArray()));
                System.out.println("tail=" + java.util.Arrays.toString(tail.toFloatArray()));
            }
            System.out.println("maxHeap=" + Runtime.getRuntime().maxMemory());
        }
    }
}
