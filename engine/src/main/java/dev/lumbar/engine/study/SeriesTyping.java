package dev.lumbar.engine.study;

import java.util.Optional;

/**
 * The outcome of typing one series: the type (absent when undecided), the rule that decided, and
 * a sentence for the report saying why.
 */
public record SeriesTyping(SeriesType type, TypingRule rule, String reason) {

    public static SeriesTyping undecided(String reason) {
        return new SeriesTyping(null, TypingRule.UNDECIDED, reason);
    }

    public Optional<SeriesType> typeIfKnown() {
        return Optional.ofNullable(type);
    }

    public boolean decided() {
        return type != null;
    }
}
