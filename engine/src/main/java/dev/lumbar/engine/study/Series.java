package dev.lumbar.engine.study;

import java.util.List;

/**
 * One series of a study: its name (the folder in the Kaggle layout, else {@code S<number>}), how
 * it was typed, what its files say, and its stacks in acquisition order.
 *
 * @param id the series folder name, or {@code S<SeriesNumber>} in other layouts; never a UID
 * @param description SeriesDescription of the first file, or null
 * @param typing the type and the rule that decided it
 * @param repetitionTime RepetitionTime (ms) of the first file, or null
 * @param echoTime EchoTime (ms) of the first file, or null
 * @param transferSyntaxUid the files' transfer syntax, or {@link #MIXED_TRANSFER_SYNTAX}
 * @param stacks position-ordered stacks, at least one
 */
public record Series(String id, String description, SeriesTyping typing, Double repetitionTime,
        Double echoTime, String transferSyntaxUid, List<Stack> stacks) {

    /** What {@link #transferSyntaxUid} holds when the files use more than one syntax. */
    public static final String MIXED_TRANSFER_SYNTAX = "mixed";

    public Series {
        stacks = List.copyOf(stacks);
    }

    public int sliceCount() {
        return stacks.stream().mapToInt(Stack::size).sum();
    }

    /** The stack with the most slices (the first of equals): what a sagittal model reads. */
    public Stack largestStack() {
        Stack best = stacks.getFirst();
        for (Stack s : stacks) {
            if (s.size() > best.size()) {
                best = s;
            }
        }
        return best;
    }

    public SeriesType type() {
        return typing.type();
    }
}
