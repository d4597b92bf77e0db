package dev.lumbar.engine.study;

import java.util.Locale;

/** Lengths in millimetres as warnings and {@code inspect} print them. */
public final class Millimetres {

    /** At and beyond this many millimetres, fixed decimals would print a wall of digits. */
    private static final double LARGE = 1e6;

    private Millimetres() {
    }

    /**
     * {@code mm} with {@code decimals} decimals where that shows it (0.5 mm as {@code 0.500}),
     * else to three significant digits ({@code 1.00e-09}, {@code 3.30e+28}): a value read from
     * a malformed file can be too small for the decimals to show anything but zero, or too
     * large for its digits to be read. No unit is appended.
     */
    public static String shown(double mm, int decimals) {
        double size = Math.abs(mm);
        boolean fixed = mm == 0 || !Double.isFinite(mm)
                || size >= Math.pow(10, 1 - decimals) && size < LARGE;
        return fixed ? String.format(Locale.ROOT, "%." + decimals + "f", mm)
                : String.format(Locale.ROOT, "%.3g", mm);
    }
}
