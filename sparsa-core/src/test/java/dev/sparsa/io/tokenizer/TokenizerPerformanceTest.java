package dev.sparsa.io.tokenizer;

import dev.sparsa.io.tokenizer.TokenizerFixtures.Tok;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * ~200 KB of real text plus long runs that punish regex backtracking and quadratic merging encode and round-trip.
 * Speed is printed, not asserted (speed belongs in BENCHMARKS.md); a blow-up would show as a hung test run.
 */
class TokenizerPerformanceTest {

    static String text200k() {
        StringBuilder sb = new StringBuilder();
        for (String line : TokenizerFixtures.brownLines(100, 1000)) {
            if (sb.length() > 200_000) {
                break;
            }
            sb.append(line).append('\n');
        }
        // Plus long runs that punish regex backtracking and quadratic merging.
        sb.append(" ".repeat(5000)).append('x').append("\t\n".repeat(2000)).append("9".repeat(5000))
                .append("a".repeat(5000)).append("😀".repeat(1000));
        return sb.toString();
    }

    @ParameterizedTest
    @EnumSource(Tok.class)
    void encodesLongAndPathologicalText(Tok t) {
        long t0 = System.nanoTime();
        Tokenizer tok = TokenizerJson.load(t.file());
        long t1 = System.nanoTime();
        String text = text200k();
        int[] ids = tok.encode(text, false);
        long t2 = System.nanoTime();
        String back = tok.decode(ids, false);
        long t3 = System.nanoTime();
        double mb = text.getBytes(StandardCharsets.UTF_8).length / 1e6;
        System.out.printf("%s: load %.2f s, encode %.2f MB in %.2f s (%.2f MB/s, %d ids), decode %.2f s%n", t,
                (t1 - t0) / 1e9, mb, (t2 - t1) / 1e9, mb / ((t2 - t1) / 1e9), ids.length, (t3 - t2) / 1e9);
        assertThat(ids.length).isGreaterThan(20_000);
        if (t != Tok.MINILM) {
            assertThat(back).isEqualTo(text);
        }
    }
}
