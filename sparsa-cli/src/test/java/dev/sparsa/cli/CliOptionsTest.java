package dev.sparsa.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import static org.assertj.core.api.Assertions.assertThat;

/** Help text and option errors of the inspect, convert, embed and generate commands. */
class CliOptionsTest {
    private static final String[] COMMANDS = {"inspect", "convert", "embed", "generate"};

    @Test
    void everyOptionIsDescribedInTheHelp() {
        for (String cmd : COMMANDS) {
            CliRun h = CliRun.of(cmd, "--help");
            assertThat(h.code()).as(cmd).isZero();
            assertThat(h.out()).as(cmd).startsWith("Usage: sparsa " + cmd);
            var spec = new CommandLine(new Main()).getSubcommands().get(cmd).getCommandSpec();
            for (var o : spec.options()) {
                assertThat(String.join(" ", o.description())).as(cmd + " " + o.longestName()).isNotBlank();
            }
        }
    }

    @Test
    void badOrMissingOptionsAreOneLineThatPointsToTheHelp() {
        String[][] cases = {
                {"inspect", "sparsa: Missing required option: '--model=PATH' (see 'sparsa inspect --help')"},
                {"generate", "--model", "m", "--prompt-ids", "1,x",
                        "sparsa: Invalid value for option '--prompt-ids' (IDS): 'x' is not an int"
                                + " (see 'sparsa generate --help')"},
                {"generate", "--model", "m", "--max-tokens", "many",
                        "sparsa: Invalid value for option '--max-tokens': 'many' is not an int"
                                + " (see 'sparsa generate --help')"},
                {"embed", "--text", "a", "--ids", "1 2",
                        "sparsa: Error: --text=TEXT, --ids=IDS are mutually exclusive (specify only one)"
                                + " (see 'sparsa embed --help')"},
                {"convert", "--model", "m", "--out", "o.gguf", "--quant", "q8_0",
                        "sparsa: Unknown options: '--quant', 'q8_0' (see 'sparsa convert --help')"},
        };
        for (String[] c : cases) {
            String[] args = java.util.Arrays.copyOf(c, c.length - 1);
            CliRun r = CliRun.of(args);
            assertThat(r.code()).as(String.join(" ", args)).isEqualTo(2);
            assertThat(r.err().lines().toList()).as(String.join(" ", args)).containsExactly(c[c.length - 1]);
            assertThat(r.out()).isEmpty();
        }
    }

    @Test
    void aMissingModelIsOneLineBeforeAnythingElse() {
        CliRun r = CliRun.of("embed", "--model", "nowhere.onnx", "--text", "hi");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err().lines().toList()).containsExactly("sparsa: nowhere.onnx: no such file or directory");
    }
}
