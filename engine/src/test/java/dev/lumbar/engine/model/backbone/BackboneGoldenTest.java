package dev.lumbar.engine.model.backbone;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.backend.cpu.CpuBackend;
import dev.lumbar.engine.io.Safetensors;
import dev.lumbar.engine.io.SafetensorsException;
import dev.lumbar.engine.model.ModelCard;
import dev.lumbar.engine.tensor.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.Collectors;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Golden parity with float64 PyTorch modules written after timm's source: small real-arch
 * networks with random weights, norm parameters and BatchNorm statistics, on odd, non-square
 * inputs (fixtures made by {@code weights/tools/make_backbone_fixtures.py}).
 */
class BackboneGoldenTest {

    static final double CONVNEXT_TOLERANCE = 1e-5;
    static final double EFFICIENTNET_TOLERANCE = 1e-4;

    @ParameterizedTest
    @ValueSource(strings = {
        "convnext_atto_tiny", "convnext_atto_tiny_f16", "convnext_small_tiny_nohead",
        "convnext_tiny_tiny", "efficientnet_b0_tiny", "tf_efficientnet_b2_tiny",
        "tf_efficientnetv2_s_tiny", "tf_efficientnetv2_s_tiny_bf16", "efficientnetv2_rw_s_tiny",
        "efficientnet_custom_blocks"})
    void matchesPyTorchReferenceOnReferenceBackend(String name) throws IOException {
        try (Backend backend = new ReferenceBackend()) {
            GoldenFixture.check(name, backend);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "convnext_atto_tiny", "convnext_atto_tiny_f16", "convnext_small_tiny_nohead",
        "convnext_tiny_tiny", "efficientnet_b0_tiny", "tf_efficientnet_b2_tiny",
        "tf_efficientnetv2_s_tiny", "tf_efficientnetv2_s_tiny_bf16", "efficientnetv2_rw_s_tiny",
        "efficientnet_custom_blocks"})
    void matchesPyTorchReferenceOnCpuBackend(String name) throws IOException {
        try (Backend backend = new CpuBackend(2)) {
            GoldenFixture.check(name, backend);
        }
    }

    /** A fixture's card, weights and reference outputs, and the parity check against them. */
    static final class GoldenFixture {

        static Path directory() {
            try {
                return Path.of(GoldenFixture.class.getResource("/fixtures/backbones").toURI());
            } catch (URISyntaxException e) {
                throw new IllegalStateException(e);
            }
        }

        static Backbone create(String name) throws IOException {
            ModelCard.Backbone spec =
                    ModelCard.load(directory().resolve(name + ".model.json")).backbone();
            return Backbones.create(spec.arch(), spec.inChans(), spec.numClasses(),
                    spec.config());
        }

        static Function<String, Tensor> lookup(Safetensors file) {
            return key -> {
                if (!file.contains(key)) {
                    return null;
                }
                try {
                    return file.view(key);
                } catch (SafetensorsException e) {
                    throw new UncheckedIOException(e);
                }
            };
        }

        static void check(String name, Backend backend) throws IOException {
            Path dir = directory();
            try (Backbone backbone = create(name);
                    Safetensors weights = Safetensors.open(dir.resolve(name + ".safetensors"))) {
                // the state-dict names and shapes are timm's, BN counters aside
                Map<String, long[]> expected = backbone.expectedTensors();
                TreeSet<String> inFile = weights.names().stream()
                        .filter(key -> !key.endsWith(".num_batches_tracked"))
                        .collect(Collectors.toCollection(TreeSet::new));
                assertEquals(inFile, new TreeSet<>(expected.keySet()), name + ": tensor names");
                for (var entry : expected.entrySet()) {
                    assertArrayEquals(weights.entry(entry.getKey()).shape(), entry.getValue(),
                            name + ": shape of " + entry.getKey());
                }

                // features and outputs within tolerance of the float64 reference
                backbone.load(lookup(weights), backend);
                double tolerance = backbone.arch().startsWith("convnext")
                        ? CONVNEXT_TOLERANCE : EFFICIENTNET_TOLERANCE;
                NpyArray features = NpyArray.read(dir.resolve(name + ".features.npy"));
                NpyArray output = NpyArray.read(dir.resolve(name + ".output.npy"));
                try (Tensor hostInput = NpyArray.read(dir.resolve(name + ".input.npy")).toTensor();
                        Tensor input = backend.upload(hostInput);
                        Tensor featureMap = backbone.forwardFeatures(backend, input);
                        Tensor logits = backbone.forward(backend, input);
                        Tensor hostFeatures = backend.download(featureMap);
                        Tensor hostLogits = backend.download(logits)) {
                    assertArrayEquals(features.shape(), hostFeatures.shape(), name + " features");
                    assertArrayEquals(output.shape(), hostLogits.shape(), name + " output");
                    double featureError = features.relativeError(hostFeatures.toFloatArray());
                    double outputError = output.relativeError(hostLogits.toFloatArray());
                    System.out.printf("%s on %s: features rel err %.3g, output rel err %.3g%n",
                            name, backend.name(), featureError, outputError);
                    assertTrue(featureError <= tolerance, name + ": features relative error "
                            + featureError + " > " + tolerance);
                    assertTrue(outputError <= tolerance, name + ": output relative error "
                            + outputError + " > " + tolerance + " " + Arrays.toString(
                                    hostLogits.toFloatArray()));
                }
            }
        }
    }
}
