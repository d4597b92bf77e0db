package dev.lumbar.engine.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelCardTest {

    static final String DEMO = """
            {"format": "lumbar-model/1", "name": "demo-spinal-convnext",
             "weights": "demo-spinal-convnext.safetensors",
             "backbone": {"arch": "convnext_atto", "in_chans": 3, "prefix": "encoder.",
                          "num_classes": 0,
                          "config": {"depths": [1,1,2,1], "dims": [16,32,64,128]}},
             "head": {"type": "mil_bilstm", "num_classes": 3, "lstm_layers": 1},
             "input": {"slices": 5, "channels": 3, "height": 64, "width": 64,
                       "normalize": {"mode": "minmax"}},
             "ignore": ["encoder.head.fc.weight", "aux.*"]}
            """;

    @TempDir
    Path dir;

    private Path card(String json) throws IOException {
        Path folder = Files.createDirectories(dir.resolve("cards"));
        return Files.writeString(folder.resolve("demo.model.json"), json);
    }

    private ModelCardException rejects(String json) throws IOException {
        Path file = card(json);
        ModelCardException e = assertThrows(ModelCardException.class,
                () -> ModelCard.load(file));
        assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
        assertEquals(file, e.card());
        return e;
    }

    private void assertMentions(String json, String fragment) throws IOException {
        String message = rejects(json).getMessage();
        assertTrue(message.contains(fragment), message);
    }

    @Test
    void loadsTheDocumentedExampleCard() throws IOException {
        Path file = card(DEMO);
        ModelCard card = ModelCard.load(file);
        assertEquals("demo-spinal-convnext", card.name());
        assertEquals(file.getParent().toAbsolutePath().resolve(
                "demo-spinal-convnext.safetensors"), card.weights());
        assertEquals("convnext_atto", card.backbone().arch());
        assertEquals(3, card.backbone().inChans());
        assertEquals("encoder.", card.backbone().prefix());
        assertEquals(0, card.backbone().numClasses());
        assertEquals(List.of(1L, 1L, 2L, 1L), card.backbone().config().get("depths"));
        assertEquals("mil_bilstm", card.headType());
        assertEquals(3L, card.head().get("num_classes"));
        assertEquals(new ModelCard.Input(5, 3, 64, 64, Map.of("mode", "minmax")), card.input());
        assertEquals("minmax", card.input().normalizeMode());
        assertTrue(card.ignores("encoder.head.fc.weight"));
        assertTrue(card.ignores("aux.layer.0.weight"));
        assertFalse(card.ignores("auxiliary.weight"));
        assertFalse(card.ignores("encoder.head.fc.bias"));
    }

    @Test
    void rejectsOtherFormatsNamingTheCard() throws IOException {
        ModelCardException e = rejects(DEMO.replace("lumbar-model/1", "lumbar-model/2"));
        assertTrue(e.getMessage().contains("'lumbar-model/2'"), e.getMessage());
        assertTrue(rejects("{\"name\": \"x\"}").getMessage().contains("format is missing"));
    }

    @Test
    void namesTheFieldThatIsWrong() throws IOException {
        assertMentions(DEMO.replace("\"in_chans\": 3", "\"in_chans\": \"3\""),
                "backbone.in_chans is \"3\", not an integer");
        assertMentions(DEMO.replace("\"slices\": 5", "\"slices\": 0"), "input.slices");
        assertMentions(DEMO.replace("\"mode\": \"minmax\"", "\"how\": \"minmax\""),
                "input.normalize.mode is missing");
        assertMentions(DEMO.replace("\"type\": \"mil_bilstm\",", ""), "head.type is missing");
        assertMentions(DEMO.replace("\"ignore\"", "\"ingore\""), "ingore is not a known field");
        assertMentions(DEMO.replace("\"prefix\"", "\"prefx\""),
                "backbone.prefx is not a known field");
        assertMentions(DEMO.replace("\"aux.*\"", "\"aux*\""), "'aux*'");
        assertMentions(DEMO.replace("\"channels\": 3", "\"channels\": 1"),
                "backbone.in_chans is 3");
        assertMentions(DEMO.replace("\"demo-spinal-convnext.safetensors\"", "\"\""),
                "weights is empty");
        assertMentions(DEMO.replace("\"width\": 64,", ""), "input.width is missing");
        assertMentions("[1]", "the card is not a JSON object");
        assertMentions("{\"format\": ", "not valid JSON");
    }

    @Test
    void refusesWeightsOutsideTheCardsFolder() throws IOException {
        String name = "\"demo-spinal-convnext.safetensors\"";
        assertMentions(DEMO.replace(name, "\"/etc/passwd\""), "is an absolute path");
        assertMentions(DEMO.replace(name, "\"../../../../etc/passwd\""),
                "leads outside the card's folder");
        assertMentions(DEMO.replace(name, "\"sub/../../x.safetensors\""),
                "leads outside the card's folder");
        assertMentions(DEMO.replace(name, "\".\""), "leads outside the card's folder");

        // a subfolder, or a detour that comes back, stays inside
        Path file = card(DEMO.replace(name, "\"sub/../w/x.safetensors\""));
        assertEquals(file.getParent().toAbsolutePath().resolve("w/x.safetensors"),
                ModelCard.load(file).weights());
    }
}
