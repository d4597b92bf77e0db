package dev.lumbar.engine.study;

import dev.lumbar.engine.spine.SeriesType;

/**
 * The outcome of typing one series: the type (absent when undecided), the rule that decided, and
 * a sentence for the report saying why. {@code byTiming} is the type TR/TE alone give where they
 * contradict the text that decided (a T1-weighted series described as T2), else null: the study
 * uses it when another series claims the same type ({@link StudyScanner}).
 */
public record SeriesTyping(SeriesType type, TypingRule rule, String reason, SeriesType byTiming) {

    public SeriesTyping(SeriesType type, TypingRule rule, String reason) {
        this(type, rule, reason, null);
    }

    public static SeriesTyping undecided(String reason) {
        return new SeriesTyping(null, TypingRule.UNDECIDED, reason);
    }

    public boolean decided() {
        return type != null;
    }
}
