package dev.lumbar.engine.study;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class MillimetresTest {

    @ParameterizedTest
    @CsvSource({
        "0.5, 3, 0.500",
        "0.01, 3, 0.010",
        "0, 3, 0.000",
        "15, 2, 15.00",
        "0.1, 2, 0.10",
        "999999, 2, 999999.00",
        "1e-9, 3, 1.00e-09",
        "0.004, 2, 0.00400",
        "3.30002469218357e28, 2, 3.30e+28",
        "-2e7, 2, -2.00e+07",
        "Infinity, 2, Infinity",
    })
    void showsTheValueWithDecimalsOrElseSignificantDigits(double mm, int decimals,
            String shown) {
        assertEquals(shown, Millimetres.shown(mm, decimals));
    }
}
