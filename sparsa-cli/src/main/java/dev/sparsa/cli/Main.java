package dev.sparsa.cli;

import dev.sparsa.SparsaException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.util.List;

/** Entry point of the {@code sparsa} command. Each subcommand is one class in this package. */
@Command(name = "sparsa", mixinStandardHelpOptions = true, version = "Sparsa 0.1.0",
        description = "Measure, induce and exploit activation sparsity in transformer models.",
        subcommands = {
                CommandLine.HelpCommand.class,
                InspectCommand.class,
                ConvertCommand.class,
                GenerateCommand.class,
                EvalCommand.class,
                CalibrateCommand.class,
                EmbedCommand.class,
                DemoCommand.class,
                ProfileCommand.class,
                ProfileBenchCommand.class,
                ReportCommand.class,
                SynthCommand.class,
                BenchCommand.class,
                BenchTrainCommand.class,
                TokenizerCommand.class,
                PretrainCommand.class,
                SparsifyCommand.class,
                ExperimentCommand.class,
                dev.sparsa.cli.serve.ServeCommand.class,
                dev.sparsa.cli.serve.BenchServeCommand.class,
        })
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the CLI and returns its exit code; errors become one line on stderr. */
    public static int execute(String... args) {
        CommandLine cl = new CommandLine(new Main());
        // Bad or missing options: one line naming the problem and where the help is, not the whole usage text.
        cl.setParameterExceptionHandler((ex, rest) -> {
            ex.getCommandLine().getErr().println("sparsa: " + oneLine(ex.getMessage()) + " (see '"
                    + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help')");
            return 2;
        });
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            Throwable t = ex;
            if (t instanceof SparsaException || t instanceof java.io.UncheckedIOException
                    || t instanceof java.io.IOException) {
                cmd.getErr().println("sparsa: " + oneLine(t.getMessage()));
                return 2;
            }
            if (t instanceof OutOfMemoryError) {
                cmd.getErr().println("sparsa: out of memory (raise -Xmx with SPARSA_JAVA_OPTS)");
                return 3;
            }
            cmd.getErr().println("sparsa: internal error: " + t);
            StackTraceElement[] st = t.getStackTrace();
            if (st.length > 0) {
                cmd.getErr().println("  at " + st[0]);
            }
            return 70;
        });
        return cl.execute(args);
    }

    /** The command as typed, for a results file's {@code command} field and its Markdown section. */
    static String typed(CommandLine.Model.CommandSpec spec) {
        List<String> args = spec.root().commandLine().getParseResult().originalArgs();
        return "./sparsa " + String.join(" ", args.stream().map(a -> a.contains(" ") ? "'" + a + "'" : a).toList());
    }

    static String oneLine(String s) {
        return s == null ? "(no message)" : s.replace('\n', ' ').replace('\r', ' ');
    }
}
