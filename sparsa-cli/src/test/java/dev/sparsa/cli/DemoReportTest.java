package dev.sparsa.cli;

import dev.sparsa.cli.report.ResultsFiles;
import dev.sparsa.experiment.DemoResults;
import dev.sparsa.experiment.DenseLlamaCache;
import dev.sparsa.experiment.ProSparseDemo;
import dev.sparsa.experiment.TinyDense;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.perf.BenchRow;
import dev.sparsa.profile.ProfileOptions;
import dev.sparsa.profile.ProfileResults;
import dev.sparsa.profile.ProgressListener;
import dev.sparsa.tensor.Parallel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The demo's Llama story ({@link ProSparseDemo}: dense → ProSparse → profile of both → decode speed) on the tiny
 * dense model and generated text, and the demo's one report and summary from its results.json, with a toy encoder's
 * profile in MiniLM's place (the real demo fetches MiniLM and Brown: run by hand, README).
 */
class DemoReportTest {

    static ProfileOptions small(long tokens) {
        return new ProfileOptions(tokens, 64, new double[]{0.1, 0.2, 0.3}, 0.2, new double[]{1, 5, 10}, 64, 1, 4, 1,
                64, 1234, 128);
    }

    @Test
    void theLlamaStoryAndTheOneReport(@TempDir Path tmp) throws Exception {
        DenseLlamaCache.Entry dense = TinyDense.model(tmp.resolve("cache"));
        Path out = tmp.resolve("demo");
        ProSparseDemo.Options o = new ProSparseDemo.Options(2, new float[]{0.5f, 2f, 4f}, 0.01, 2, 32, 1e-3f, 1, 3,
                512, small(256), 8, 6, 0, 1);
        List<String> stages = new java.util.ArrayList<>();
        ProSparseDemo.Results l;
        ProfileResults enc;
        try (Parallel par = new Parallel(1)) {
            l = ProSparseDemo.run(dense, TinyDense.train(), TinyDense.valid(), out, o, par,
                    new ProSparseDemo.Listener() {
                        @Override
                        public ProgressListener profileProgress() {
                            return ProgressListener.NONE;
                        }

                        @Override
                        public void stage(String name) {
                            stages.add(name);
                        }
                    });
            Path text = TinyDense.write(TinyDense.valid(), tmp.resolve("valid.txt"));
            enc = ProfileCommand.measure("toy-gelu", text, null, 512, par, small(512), ProgressListener.NONE,
                    new PrintStream(new ByteArrayOutputStream()));
        }
        assertThat(stages).containsExactly("evaluate dense", "ProSparse", "profile dense", "profile ProSparse",
                "decode speed");
        assertThat(l.dense().activation()).isEqualTo("silu");
        assertThat(l.sparse().activation()).isIn("relu", "fatrelu");
        assertThat(l.steps()).isEqualTo(6);
        assertThat(l.curve().step()).hasSize(6);
        assertThat(l.dense().sparsity()).isLessThan(0.01);
        assertThat(l.sparse().sparsity()).isGreaterThan(0.3).isLessThanOrEqualTo(1.0)
                .isGreaterThanOrEqualTo(l.sparseAtZero().sparsity());
        assertThat(l.dense().bitsPerByte()).isBetween(0.1, 20.0);
        assertThat(l.sparse().bitsPerByte()).isBetween(0.1, 20.0);
        // the dense figure is the cached model's own final validation (same windows, same weights)
        assertThat(l.dense().bitsPerByte()).isEqualTo(((Number) ((Map<?, ?>) dense.summary().get("final"))
                .get("bitsPerByte")).doubleValue());
        // the profiles measure the saved models: the decoder profile's bits/byte on the same tokens
        assertThat(l.dense().profile().run().kind()).isEqualTo("decoder");
        assertThat(l.sparse().profile().overall().zeroSparsity()).isGreaterThan(0.3);
        assertThat(l.dense().profile().overall().zeroSparsity()).isLessThan(0.01);
        // the ProSparse folder holds the model the numbers are about
        try (ModelFiles f = ModelFiles.open(out.resolve("llama-prosparse"))) {
            assertThat(f.config().hiddenAct()).isEqualTo("relu");
            assertThat(f.config().fatreluThreshold()).isEqualTo(l.sparse().threshold());
            assertThat(f.tokenizerJson()).isNotNull();
        }
        assertThat(l.bench()).hasSize(3);            // no exact-sparse on SiLU
        for (BenchRow b : l.bench()) {
            assertThat(b.decode().median()).isPositive();
            assertThat(b.decodeTokens()).isEqualTo(6);
        }
        assertThat(l.bench().get(2).note()).isEqualTo("prosparse");
        assertThat(l.bench().get(2).ffn()).isEqualTo("exact-sparse");
        assertThat(l.bench().get(2).activeFraction()).isLessThan(0.7);

        Map<String, Double> secs = new LinkedHashMap<>();
        secs.put("MiniLM profile", 1.0);
        secs.put("ProSparse", 2.0);
        DemoResults r = new DemoResults(DemoResults.SCHEMA, enc, l, secs, 3.0, 5.0, 1, DemoCommand.notes());
        Path json = out.resolve("results.json");
        ResultsFiles.writeJson(r, json);
        Path html = ResultsFiles.renderReport(json, out.resolve("report.html"));
        String page = Files.readString(html);
        assertThat(page).startsWith("<!DOCTYPE html>").contains("Sparsa demo", "1. Activation sparsity of toy-gelu",
                "<h3>Sparsity per layer</h3>", "Cosine-p% sparsity", "2. A small Llama: dense → ProSparse",
                "Pretraining: training CE", "ProSparse: sparsity and λ", "Sparsity per layer, before / after",
                "Perplexity vs sparsity", "Decode speed", "exact-sparse", "Threshold search");
        assertThat(page).doesNotContain("<script", "http://", "https://", "src=", "NaN", "<h1>Activation");
        assertThat(page.indexOf("<h1>")).isEqualTo(page.lastIndexOf("<h1>"));
        // the page comes from the JSON alone
        ReportAgain again = ReportAgain.of(json, tmp.resolve("again"));
        assertThat(again.html()).isEqualTo(Files.readAllBytes(html));
        String summary = DemoCommand.llamaSummary(ResultsFiles.readDemo(json));
        assertThat(new String(again.markdown(), java.nio.charset.StandardCharsets.UTF_8)).startsWith("### Demo\n")
                .contains("toy-gelu", "layer").endsWith(summary + "```\n");
        assertThat(summary).contains("Llama: dense → ProSparse", "bits/byte", "zero sparsity", "PPL-1% sparsity",
                "decode tok/s, exact-sparse FFN", "demo wall time 0:03");
    }
}
