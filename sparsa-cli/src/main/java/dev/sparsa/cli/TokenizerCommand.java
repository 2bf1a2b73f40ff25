package dev.sparsa.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code sparsa tokenizer}: the tokenizer commands (so far {@code train}). */
@Command(name = "tokenizer", mixinStandardHelpOptions = true,
        description = "Byte-level BPE tokenizers in the Hugging Face tokenizer.json format.",
        subcommands = {CommandLine.HelpCommand.class, TokenizerTrainCommand.class})
public final class TokenizerCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
