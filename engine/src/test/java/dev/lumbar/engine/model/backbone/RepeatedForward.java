package dev.lumbar.engine.model.backbone;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.backend.cpu.CpuBackend;
import dev.lumbar.engine.io.Npy;
import dev.lumbar.engine.io.Safetensors;
import dev.lumbar.engine.tensor.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.SplittableRandom;

/**
 * Runs golden-fixture backbones, a tanh and a softmax on the CPU backend again and again, and
 * prints a SHA-256 of every pass's outputs, one line per pass: the child process of
 * {@link CompilerIndependenceTest}, started under different JIT settings.
 *
 * <p>Arguments: worker threads, passes, then fixture names.
 */
public final class RepeatedForward {

    private static final int CALLS_PER_PASS = 150;

    private RepeatedForward() {
    }

    public static void main(String[] args) throws Exception {
        int threads = Integer.parseInt(args[0]);
        int passes = Integer.parseInt(args[1]);
        Path dir = BackboneGoldenTest.GoldenFixture.directory();
        try (Backend backend = new CpuBackend(threads)) {
            System.out.println("backend " + backend.name());
            for (int a = 2; a < args.length; a++) {
                String name = args[a];
                try (Backbone backbone = BackboneGoldenTest.GoldenFixture.create(name);
                        Safetensors weights = Safetensors.open(dir.resolve(name + ".safetensors"));
                        Tensor hostInput = Npy.read(dir.resolve(name + ".input.npy"));
                        Tensor input = backend.upload(hostInput)) {
                    backbone.load(BackboneGoldenTest.GoldenFixture.lookup(weights), backend);
                    for (int pass = 0; pass < passes; pass++) {
                        MessageDigest digest = MessageDigest.getInstance("SHA-256");
                        try (Tensor features = backbone.forwardFeatures(backend, input);
                                Tensor logits = backbone.forward(backend, input)) {
                            add(digest, features);
                            add(digest, logits);
                        }
                        System.out.println(name + " " + pass + " "
                                + HexFormat.of().formatHex(digest.digest()));
                    }
                }
            }

            // tanh and softmax over rows of odd width, so masked ends are exercised; each pass
            // calls them often enough that the compiler takes them up within a few passes
            float[] values = new float[37 * 53];
            SplittableRandom random = new SplittableRandom(11);
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) (random.nextGaussian() * 4);
            }
            try (Tensor x = backend.upload(Tensor.of(values, 37, 53))) {
                for (int pass = 0; pass < passes; pass++) {
                    for (int call = 1; call < CALLS_PER_PASS; call++) {
                        backend.activate(x, Activation.TANH).close();
                        backend.softmax(x).close();
                    }
                    MessageDigest digest = MessageDigest.getInstance("SHA-256");
                    try (Tensor tanh = backend.activate(x, Activation.TANH);
                            Tensor softmax = backend.softmax(x)) {
                        add(digest, tanh);
                        add(digest, softmax);
                    }
                    System.out.println("tanh+softmax " + pass + " "
                            + HexFormat.of().formatHex(digest.digest()));
                }
            }
        }
    }

    private static void add(MessageDigest digest, Tensor cpuTensor) {
        float[] values = cpuTensor.toFloatArray();
        ByteBuffer bytes = ByteBuffer.allocate(values.length * Float.BYTES)
                .order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(values);
        digest.update(bytes);
    }
}
