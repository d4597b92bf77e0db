package dev.lumbar.engine.model.head;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** A model card's head options: those its type reads, and a refusal for any other. */
class HeadOptionsTest {

    @Test
    void anOptionTheHeadDoesNotReadIsRefusedNamingItAndThoseItReads() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Head.create(Map.of("type", "mil_bilstm", "lstm_layer", 2L), 64));
        assertEquals("head of type 'mil_bilstm' has unknown option(s) [lstm_layer]; it reads"
                + " [lstm_hidden, lstm_layers, num_classes, type]", e.getMessage());
    }

    @Test
    void everyOptionAHeadReadsIsAccepted() {
        try (Head head = Head.create(Map.of("type", "mil_bilstm", "lstm_layers", 2L,
                "lstm_hidden", 16L, "num_classes", 3L), 64)) {
            assertEquals("mil_bilstm", head.type());
        }
        try (Head head = Head.create(Map.of("type", "keypoint", "num_targets", 5L,
                "activation", "none", "fc", "head.fc"), 64)) {
            assertEquals("keypoint", head.type());
        }
    }
}
