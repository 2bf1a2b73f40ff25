package dev.sparsa.cli.serve;

import dev.sparsa.infer.Generator;
import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.llama.KvCache;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.tensor.Parallel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The decode loop without HTTP: sequences submitted together and batched (or round robin) produce, token for token,
 * what {@link Generator} (the engine of {@code sparsa generate}) produces for each alone; a cancelled sequence
 * leaves the batch at once.
 */
@Timeout(60)
class DecodeLoopTest {
    @TempDir
    Path tmp;

    /**
     * Greedy reference: Generator's ids, the smallest top-1 / top-2 logit gap along them, and the largest |logit|.
     * Batched rows differ from one-by-one decode by at most 5e-7 of max(1, max |logit|) (DecodeBatchTest); a gap
     * 20 times that cannot be flipped by batching, so equality with the reference is deterministic.
     */
    record Reference(int[] ids, double margin, double maxAbs) {
        boolean safe() {
            return margin > 1e-5 * Math.max(1, maxAbs);
        }
    }

    static Reference reference(LlamaModel m, int[] prompt, int max, int[] stops, Parallel par) {
        int[] ids = new Generator(m, par).generate(prompt, Generator.Options.greedy(max, stops), id -> {
        }).generatedIds();
        KvCache c = m.newCache(prompt.length + max);
        float[] logits = m.forward(c, prompt, false, ActivationTap.NONE, par);
        double margin = Double.MAX_VALUE;
        double maxAbs = 0;
        for (int i = 0; i < ids.length; i++) {
            margin = Math.min(margin, gap(logits));
            for (float v : logits) {
                maxAbs = Math.max(maxAbs, Math.abs(v));
            }
            if (i + 1 < ids.length) {
                logits = m.decode(c, ids[i], ActivationTap.NONE, par);
            }
        }
        return new Reference(ids, margin, maxAbs);
    }

    /** The loop retires a sequence just after its last event: wait (bounded) until it holds none. */
    static void awaitIdle(DecodeLoop loop) throws InterruptedException {
        long t0 = System.nanoTime();
        while ((loop.running() > 0 || loop.kvCacheBytes() > 0) && System.nanoTime() - t0 < 10_000_000_000L) {
            Thread.sleep(5);
        }
        assertThat(loop.running()).isZero();
        assertThat(loop.waiting()).isZero();
        assertThat(loop.kvCacheBytes()).isZero();
    }

    static double gap(float[] l) {
        float a = Float.NEGATIVE_INFINITY;
        float b = Float.NEGATIVE_INFINITY;
        for (float v : l) {
            if (v > a) {
                b = a;
                a = v;
            } else if (v > b) {
                b = v;
            }
        }
        return a - b;
    }

    static List<String> prompts() {
        List<String> p = new ArrayList<>();
        String[] words = ServeFixture.TEXT.split(" ");
        for (int i = 0; i < 10; i++) {
            p.add(String.join(" ", java.util.Arrays.copyOfRange(words, i, i + 1 + i % 4)));
        }
        return p;
    }

    @ParameterizedTest
    @CsvSource({"silu,dense,true", "relu,exact,true", "relu,dense,false"})
    void concurrentSequencesEqualGeneratorTokenForToken(String act, String sparse, boolean batch) throws Exception {
        Path dir = ServeFixture.model(tmp.resolve(act), act, 11, false);
        try (ServedModel m = ServedModel.open(dir.toString(), tmp, sparse, null, null, null, "t");
             Parallel par = new Parallel(2)) {
            ServedModel.Decoder d = (ServedModel.Decoder) m;
            Metrics metrics = new Metrics("t", sparse, 2, 96, () -> 0, () -> 0);
            Tokenizer tok = d.tokenizer();
            BlockingQueue<Generation.Out> events = new LinkedBlockingQueue<>();
            List<Generation> gens = new ArrayList<>();
            List<Reference> refs = new ArrayList<>();
            List<String> prompts = prompts();
            for (int i = 0; i < prompts.size(); i++) {
                int[] ids = tok.encode(prompts.get(i), true);
                int max = 6 + 3 * i;
                refs.add(reference(d.model(), ids, max, d.stopIds(), par));
                gens.add(new Generation(i, ids, new Generation.Params(max, 0f, 1f, 0, List.of()), tok, events));
            }
            for (Reference r : refs) {
                assertThat(r.safe()).as("reference top-2 gap %s, max |logit| %s", r.margin(), r.maxAbs()).isTrue();
            }
            try (DecodeLoop loop = new DecodeLoop(d.model(), d.stopIds(), par, 4, 64, batch, metrics)) {
                StringBuilder[] texts = new StringBuilder[gens.size()];
                for (int i = 0; i < gens.size(); i++) {
                    texts[i] = new StringBuilder();
                    loop.submit(gens.get(i));
                }
                int done = 0;
                while (done < gens.size()) {
                    Generation.Out o = events.poll(30, TimeUnit.SECONDS);
                    assertThat(o).as("an event within 30 s").isNotNull();
                    switch (o.event()) {
                        case Generation.Text t -> texts[o.index()].append(t.text());
                        case Generation.Done x -> done++;
                        case Generation.Failed f -> throw f.error();
                    }
                }
                for (int i = 0; i < gens.size(); i++) {
                    int[] want = refs.get(i).ids();
                    assertThat(gens.get(i).tokens()).as("sequence %d", i).containsExactly(want);
                    assertThat(texts[i].toString()).isEqualTo(tok.decode(want, true));
                }
                awaitIdle(loop);
                if (sparse.equals("exact")) {
                    assertThat(metrics.activeFraction(0)).as("a ReLU model skips neurons").isBetween(0.05, 0.95);
                } else if (act.equals("silu")) {
                    assertThat(metrics.activeFraction(0)).isEqualTo(1.0);
                }
            }
        }
    }

    /**
     * Prompts longer than the prefill chunk go in a chunk per turn while the others decode: with chunks of 4 tokens,
     * prompts of 2..40 tokens submitted together all finish, each equal (greedy) to its own chunked prefill and
     * one-by-one decode (the order of first text is not asserted: the detokenizer may hold a token's text back).
     */
    @Test
    void longPromptsArePrefilledInChunksBetweenDecodeSteps() throws Exception {
        Path dir = ServeFixture.model(tmp.resolve("c"), "silu", 5, false);
        int chunk = 4;
        try (ServedModel m = ServedModel.open(dir.toString(), tmp, "dense", null, null, null, "t");
             Parallel par = new Parallel(2)) {
            ServedModel.Decoder d = (ServedModel.Decoder) m;
            LlamaModel model = d.model();
            Metrics metrics = new Metrics("t", "dense", 2, 96, () -> 0, () -> 0);
            Tokenizer tok = d.tokenizer();
            String[] words = ServeFixture.TEXT.split(" ");
            BlockingQueue<Generation.Out> events = new LinkedBlockingQueue<>();
            List<Generation> gens = new ArrayList<>();
            List<int[]> want = new ArrayList<>();
            int[] lengths = {40, 2, 33, 9};
            for (int i = 0; i < lengths.length; i++) {
                int[] ids = java.util.Arrays.copyOf(tok.encode(String.join(" ", words), true), lengths[i]);
                int max = 8;
                // reference: the same chunks, then one-by-one greedy decode
                KvCache c = model.newCache(ids.length + max);
                float[] logits = model.prefill(c, ids, chunk, ActivationTap.NONE, par);
                int[] out = new int[max];
                for (int k = 0; k < max; k++) {
                    out[k] = dev.sparsa.infer.Sampler.argmax(logits);
                    assertThat(gap(logits)).as("reference margin").isGreaterThan(1e-4);
                    if (k + 1 < max) {
                        logits = model.decode(c, out[k], ActivationTap.NONE, par);
                    }
                }
                want.add(out);
                gens.add(new Generation(i, ids, new Generation.Params(max, 0f, 1f, 0, List.of()), tok, events));
            }
            try (DecodeLoop loop = new DecodeLoop(model, new int[0], par, 4, 8, true, metrics, chunk)) {
                gens.forEach(loop::submit);
                int done = 0;
                List<Integer> firstText = new ArrayList<>();
                while (done < gens.size()) {
                    Generation.Out o = events.poll(30, TimeUnit.SECONDS);
                    assertThat(o).as("an event within 30 s").isNotNull();
                    switch (o.event()) {
                        case Generation.Text t -> {
                            if (!firstText.contains(o.index())) {
                                firstText.add(o.index());
                            }
                        }
                        case Generation.Done x -> done++;
                        case Generation.Failed f -> throw f.error();
                    }
                }
                for (int i = 0; i < gens.size(); i++) {
                    assertThat(gens.get(i).tokens()).as("sequence %d", i).containsExactly(want.get(i));
                }
                assertThat(firstText).containsExactlyInAnyOrder(0, 1, 2, 3);
                awaitIdle(loop);
            }
        }
    }

    @Test
    void aCancelledSequenceLeavesTheBatchAndTheQueue() throws Exception {
        Path dir = ServeFixture.model(tmp.resolve("m"), "silu", 3, false);
        try (ServedModel m = ServedModel.open(dir.toString(), tmp, "dense", null, null, null, "t");
             Parallel par = new Parallel(2)) {
            ServedModel.Decoder d = (ServedModel.Decoder) m;
            Metrics metrics = new Metrics("t", "dense", 2, 96, () -> 0, () -> 0);
            int[] prompt = d.tokenizer().encode("Hello", true);
            try (DecodeLoop loop = new DecodeLoop(d.model(), new int[0], par, 1, 1, true, metrics)) {
                BlockingQueue<Generation.Out> a = new LinkedBlockingQueue<>();
                BlockingQueue<Generation.Out> b = new LinkedBlockingQueue<>();
                Generation long1 = new Generation(0, prompt, new Generation.Params(200, 0f, 1f, 0, List.of()),
                        d.tokenizer(), a);
                Generation queued = new Generation(0, prompt, new Generation.Params(200, 0f, 1f, 0, List.of()),
                        d.tokenizer(), b);
                loop.submit(long1);
                loop.submit(queued);
                assertThat(a.poll(30, TimeUnit.SECONDS)).isNotNull();   // running
                assertThat(loop.waiting()).isEqualTo(1);
                Generation third = new Generation(0, prompt, new Generation.Params(5, 0f, 1f, 0, List.of()),
                        d.tokenizer(), new LinkedBlockingQueue<>());
                assertThatThrownBy(() -> loop.submit(third)).isInstanceOfSatisfying(ApiError.class, e -> {
                    assertThat(e.status).isEqualTo(503);                  // 1 slot busy, queue of 1 full
                    assertThat(e.getMessage()).contains("at capacity (1 running, 1 queued)");
                });
                loop.cancel(queued);
                assertThat(loop.waiting()).isZero();
                loop.cancel(long1);
                awaitIdle(loop);
                assertThat(long1.tokens().length).as("stopped long before max_tokens").isLessThan(200);
                assertThat(b).isEmpty();
            }
        }
    }
}
