package dev.sparsa.calibrate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparsa.eval.EvalGolden;
import dev.sparsa.eval.EvalResult;
import dev.sparsa.eval.EvalWindows;
import dev.sparsa.eval.Evaluator;
import dev.sparsa.eval.TokenStream;
import dev.sparsa.infer.SparseStats;
import dev.sparsa.infer.mode.Calibration;
import dev.sparsa.infer.mode.ModelShape;
import dev.sparsa.infer.mode.SparseMode;
import dev.sparsa.infer.mode.SparseModels;
import dev.sparsa.io.MapWeights;
import dev.sparsa.model.llama.GoldenWeights;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * CATS and TEAL at 50% against an independent PyTorch computation (issue #9, "Correctness"; golden
 * {@code golden/eval/sparse-modes.json} from {@code scripts/golden/make_sparse_mode_golden.py}): on the eval
 * golden's SiLU tiny Llama with larger projections (so a mode's cost is far above float noise), text and windows.
 * With PyTorch's thresholds Sparsa's kernels give its bits/byte and its dropped share per layer (and per TEAL site);
 * Sparsa's own calibrator at 50% lands within a small distance of PyTorch's thresholds and bits/byte.
 */
class SparseModeGoldenTest {
    static final int[] TEAL_SITE = {0, 0, 0, 1, 2, 2, 3};       // Q K V O GATE UP DOWN → the golden's qkv o gateup down
    static JsonNode gold;
    static ModelConfig cfg;
    static MapWeights weights;
    static LlamaWeights w;
    static ModelShape shape;
    static EvalWindows windows;
    static Parallel par;

    @BeforeAll
    static void setUp() throws Exception {
        EvalGolden g = EvalGolden.load();
        gold = new ObjectMapper().readTree(Files.readString(EvalGolden.resource("sparse-modes.json")));
        cfg = g.modelConfig(gold.get("variant").asText());
        weights = new MapWeights("golden/eval/sparse-modes");
        long seed = gold.get("seed").asLong();
        for (JsonNode t : gold.get("tensors")) {
            int[] sh = new ObjectMapper().convertValue(t.get("shape"), int[].class);
            int n = 1;
            for (int d : sh) {
                n *= d;
            }
            String name = t.get("name").asText();
            weights.put(Tensor.f32(name, GoldenWeights.generate(name, n, t.get("scale").asDouble(),
                    t.get("offset").asDouble(), seed), sh));
        }
        w = LlamaWeights.load(cfg, weights);
        shape = ModelShape.of(cfg, weights);
        windows = EvalWindows.of(TokenStream.of(g.corpus(), g.tokenizer(), g.eosId()), g.ctx());
        par = new Parallel(2);
    }

    @AfterAll
    static void tearDown() {
        par.close();
    }

    static Calibration.Source source() {
        return new Calibration.Source("golden", 0, cfg.maxPositions(), 0, "golden");
    }

    static Calibration cats(float[] t) {
        List<Calibration.Layer> ls = new ArrayList<>();
        for (float v : t) {
            ls.add(Calibration.Layer.cats(v, 0.5));
        }
        return new Calibration(SparseMode.CATS, shape, source(), 0.5, Double.NaN, null, null, Double.NaN, ls, null);
    }

    static Calibration teal(float[][] t) {
        List<Calibration.Layer> ls = new ArrayList<>();
        for (float[] site : t) {
            float[] th = new float[TEAL_SITE.length];
            double[] sp = new double[TEAL_SITE.length];
            for (int k = 0; k < th.length; k++) {
                th[k] = site[TEAL_SITE[k]];
                sp[k] = 0.5;
            }
            ls.add(Calibration.Layer.teal(th, sp, 0.5));
        }
        return new Calibration(SparseMode.TEAL, shape, source(), 0.5, Double.NaN, "uniform", null, Double.NaN, ls,
                null);
    }

    static EvalResult eval(SparseMode mode, Calibration c, SparseStats stats) {
        return new Evaluator(SparseModels.of(w, mode, c, stats), par).evaluate(windows);
    }

    @Test
    void denseMatchesPyTorch() {
        assertThat(eval(SparseMode.DENSE, null, null).bitsPerByte())
                .isCloseTo(gold.get("dense_bitsPerByte").asDouble(), within(2e-5));
    }

    @Test
    void catsWithPyTorchsThresholdsGivesItsBitsPerByteAndDroppedShare() {
        JsonNode c = gold.get("cats");
        float[] t = new float[cfg.numLayers()];
        for (int l = 0; l < t.length; l++) {
            t[l] = (float) c.get("threshold").get(l).asDouble();
        }
        EvalResult r = eval(SparseMode.CATS, cats(t), null);
        double dense = gold.get("dense_bitsPerByte").asDouble();
        double want = c.get("bitsPerByte").asDouble();
        assertThat(Math.abs(want - dense)).as("the golden's CATS cost is above the tolerance").isGreaterThan(1e-3);
        assertThat(r.bitsPerByte()).isCloseTo(want, within(2e-5));
        for (int l = 0; l < t.length; l++) {
            assertThat(r.skippedPerLayer()[l]).as("layer " + l)
                    .isCloseTo(c.get("sparsityPerLayer").get(l).asDouble(), within(1e-3));
        }
    }

    @Test
    void tealWithPyTorchsThresholdsGivesItsBitsPerByteAndDroppedShares() {
        JsonNode tj = gold.get("teal");
        int sites = tj.get("sites").size();
        float[][] t = new float[cfg.numLayers()][sites];
        for (int l = 0; l < t.length; l++) {
            for (int s = 0; s < sites; s++) {
                t[l][s] = (float) tj.get("threshold").get(l).get(s).asDouble();
            }
        }
        SparseStats stats = new SparseStats(cfg.numLayers());
        EvalResult r = eval(SparseMode.TEAL, teal(t), stats);
        double want = tj.get("bitsPerByte").asDouble();
        assertThat(Math.abs(want - gold.get("dense_bitsPerByte").asDouble())).isGreaterThan(1e-2);
        // the dropped shares agree within ~2e-4 (values within float rounding of a threshold flip between the two
        // forwards); TEAL's sparse attention input amplifies those flips in this random model, so bits/byte agree to
        // 4e-4 relative (0.0023 of a 0.033 effect), CATS's to 2e-5
        assertThat(r.bitsPerByte()).isCloseTo(want, within(4e-4 * want));
        for (int l = 0; l < t.length; l++) {
            for (SparseStats.Site site : SparseStats.Site.values()) {
                assertThat(stats.inputSparsity(l, site)).as("layer " + l + " " + site)
                        .isCloseTo(tj.get("sparsityPerLayer").get(l).get(TEAL_SITE[site.ordinal()]).asDouble(),
                                within(1e-3));
            }
        }
    }

    @Test
    void sparsasOwnCalibrationLandsNearPyTorchs() {
        for (SparseMode mode : new SparseMode[] {SparseMode.CATS, SparseMode.TEAL}) {
            Calibration c = new Calibrator(w, par, s -> { }).run(windows, "golden", shape,
                    Calibrator.Options.defaults(mode, 0.5));
            JsonNode m = gold.get(mode.key());
            double bpb = eval(mode, c, null).bitsPerByte();
            System.out.printf("%s at 50%%: Sparsa's calibration %.6f bits/byte, PyTorch's %.6f%n", mode.key(), bpb,
                    m.get("bitsPerByte").asDouble());
            // the two calibrations reach their thresholds differently (Sparsa: histograms of the dense activations,
            // then refine passes with every layer sparse; PyTorch: exact quantiles layer by layer and site by site),
            // so they agree within a few percent on thresholds and closely on bits/byte
            double tol = 1e-3 * m.get("bitsPerByte").asDouble();
            assertThat(bpb).isCloseTo(m.get("bitsPerByte").asDouble(), within(tol));
            for (int l = 0; l < cfg.numLayers(); l++) {
                if (mode == SparseMode.CATS) {
                    assertThat((double) c.layers().get(l).threshold()).as("layer " + l)
                            .isCloseTo(m.get("threshold").get(l).asDouble(), within(0.02 * m.get("threshold").get(l)
                                    .asDouble()));
                } else {
                    for (SparseStats.Site site : SparseStats.Site.values()) {
                        double want = m.get("threshold").get(l).get(TEAL_SITE[site.ordinal()]).asDouble();
                        assertThat((double) c.layers().get(l).tealThreshold()[site.ordinal()])
                                .as("layer " + l + " " + site).isCloseTo(want, within(0.05 * want));
                    }
                }
            }
        }
    }
}
