package dev.sparsa.tensor;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** erf and erfc against libm's values (Python's math.erf / math.erfc), in both tails and across the branch points. */
class ErfTest {

    @Test
    void matchesLibmToDoublePrecision() {
        double[][] cases = {   // x, erfc(x), erf(x)
                {0, 1.0, 0.0},
                {0.3, 0.6713732405408726, 0.3286267594591274},
                {-0.3, 1.3286267594591274, -0.3286267594591274},
                {1, 0.15729920705028513, 0.8427007929497149},
                {-1, 1.842700792949715, -0.8427007929497149},
                {2.5, 0.0004069520174449589, 0.999593047982555},
                {5, 1.5374597944280351e-12, 0.9999999999984626},
                {-5, 1.9999999999984626, -0.9999999999984626},
                {10, 2.088487583762545e-45, 1.0},
        };
        for (double[] c : cases) {
            assertThat(Erf.erfc(c[0])).as("erfc(%s)", c[0]).isCloseTo(c[1], within(4e-16 * Math.max(c[1], 1e-300)));
            assertThat(Erf.erf(c[0])).as("erf(%s)", c[0]).isCloseTo(c[2], within(4e-16));
        }
    }
}
