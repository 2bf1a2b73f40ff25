package dev.sparsa.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code sparsa experiment NAME}: the project's experiments, one subcommand class each. Every experiment writes
 * {@code OUT/results.json} and {@code OUT/report.html} (plots) and prints the Markdown section of EXPERIMENTS.md
 * (also written to {@code OUT/section.md}); {@code --quick} runs a reduced version (≤ 5 minutes on 2 cores) whose
 * figures only show that the pipeline works, while the full version is what EXPERIMENTS.md reports.
 */
@Command(name = "experiment", mixinStandardHelpOptions = true,
        description = {"Run one of the project's experiments: writes OUT/results.json, OUT/report.html and "
                + "OUT/section.md (the Markdown section for EXPERIMENTS.md, also printed).",
                "--quick runs a reduced version in a few minutes (checks the pipeline; not the figures EXPERIMENTS.md "
                        + "reports)."},
        subcommands = {ExperimentSparsifyCommand.class, ExperimentRedoCommand.class, ExperimentPruneCommand.ApCommand.class,
                ExperimentPruneCommand.SapCommand.class, ExperimentAttributionCommand.class,
                ExperimentLteCommand.class,
                ExperimentClCommand.ClnpCommand.class, ExperimentClCommand.SparClCommand.class})
public final class ExperimentCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
