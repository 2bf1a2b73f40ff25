package dev.sparsa.infer.mode;

import dev.sparsa.SparsaException;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.io.SafetensorsFile;
import dev.sparsa.io.SafetensorsWriter;
import dev.sparsa.io.TinyModels;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.LteRouters;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code --sparse lte}: the routers are found in the model folder ({@value LteRouters#FILE}) and the model's logits
 * equal those of the dense model with the same expert mask applied by a tap; a folder without routers, routers of
 * another shape, another version or a missing layer each give one line naming the file and the field.
 */
class LteModeTest {
    @TempDir
    Path tmp;

    static final ModelConfig CFG = TinyModels.llama();     // D 64, F 96, 2 layers

    static LteRouters routers(ModelConfig c, int size, long seed) {
        Random rnd = new Random(seed);
        List<float[]> rs = new ArrayList<>();
        for (int l = 0; l < c.numLayers(); l++) {
            float[] w = new float[c.intermediateSize() / size * c.hiddenSize()];
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) (rnd.nextGaussian() / Math.sqrt(c.hiddenSize()));
            }
            rs.add(w);
        }
        return new LteRouters(size, 0.5f, c.hiddenSize(), c.intermediateSize(), rs);
    }

    @Test
    void loadsTheRoutersBesideTheModelAndMasksTheirExperts() {
        Path dir = TinyModels.writeDir(tmp.resolve("m"), CFG, 3);
        LteRouters r = routers(CFG, 8, 5);
        r.write(dir);
        int[] ids = {1, 5, 9, 2, 7, 3};
        try (ModelFiles files = ModelFiles.open(dir); Parallel par = new Parallel(2)) {
            SparseModels.Loaded lte = SparseModels.load(files, SparseMode.LTE, null, null);
            assertThat(lte.calibrationPath()).isEqualTo(LteRouters.path(dir.toAbsolutePath().normalize()));
            float[] got = lte.model().forward(lte.model().newCache(ids.length), ids, true, dev.sparsa.model.ActivationTap.NONE, par);
            LlamaModel dense = LlamaModel.of(LlamaWeights.load(CFG, files.weights()), DenseFfn::new);
            int n = r.experts();
            int d = CFG.hiddenSize();
            long[] kept = {0, 0};
            float[] want = dense.forward(dense.newCache(ids.length), ids, true, (layer, pos, x, xo, gate, a, h, off) -> {
                float[] z = new float[n];
                LteRouters.logits(r.router(layer), n, d, x, xo, z, 0);
                for (int e = 0; e < n; e++) {
                    kept[1]++;
                    if (LteRouters.selected(z[e], r.tau())) {
                        kept[0]++;
                    } else {
                        java.util.Arrays.fill(h, off + e * 8, off + (e + 1) * 8, 0f);
                    }
                }
            }, par);
            for (int i = 0; i < want.length; i++) {
                assertThat(got[i]).isCloseTo(want[i], org.assertj.core.data.Offset.offset(1e-4f));
            }
            assertThat((double) kept[0] / kept[1]).as("experts kept").isBetween(0.2, 0.8);
        }
    }

    /** The bench's bytes per decoded token: the dense FFN bytes out, the router and the active records in. */
    @Test
    void decodeBytesCountTheRouterAndTheSelectedExperts() {
        Path dir = TinyModels.writeDir(tmp.resolve("mb"), CFG, 3);
        LteRouters r = routers(CFG, 8, 5);
        r.write(dir);
        try (ModelFiles files = ModelFiles.open(dir); Parallel par = new Parallel(2)) {
            LlamaModel m = SparseModels.load(files, SparseMode.LTE, null, null).model();
            dev.sparsa.perf.ActivityTap tap = dev.sparsa.perf.ActivityTap.record(m, new int[]{1, 5, 9}, 6, par);
            double dense = dev.sparsa.perf.DecodeBytes.dense(files, 9);
            double sparse = dev.sparsa.perf.DecodeBytes.sparse(files, m, tap, 9);
            double want = dense;
            for (int l = 0; l < CFG.numLayers(); l++) {
                var w = m.ffn(l).weights();
                dev.sparsa.infer.LteFfn k = (dev.sparsa.infer.LteFfn) m.ffn(l);
                want -= w.gate().data().byteSize() + w.up().data().byteSize() + w.down().data().byteSize();
                want += 12.0 * 64 * 4 + tap.meanActive(l) * 3 * 64 * 4;          // F32: gate, up, down of 64 each
                assertThat(tap.meanActive(l)).as("some experts skipped").isLessThan(0.9 * 96).isGreaterThan(0);
                assertThat(k.bundles().activeBytes(true)).isGreaterThanOrEqualTo(3 * 64 * 4);
            }
            assertThat(sparse).isLessThan(dense);
            assertThat(sparse).isCloseTo(want, org.assertj.core.data.Offset.offset(want * 0.05));
        }
    }

    @Test
    void aModelWithoutRoutersSaysHowToMakeThem() {
        Path dir = TinyModels.writeDir(tmp.resolve("plain"), CFG, 3);
        try (ModelFiles files = ModelFiles.open(dir)) {
            assertThatThrownBy(() -> SparseModels.load(files, SparseMode.LTE, null, null))
                    .isInstanceOf(SparsaException.UsageException.class)
                    .hasMessageContaining(LteRouters.FILE).hasMessageContaining("sparsa experiment lte");
        }
    }

    @Test
    void routersForAnotherModelOrVersionAreRefusedNamingTheField() throws Exception {
        Path dir = TinyModels.writeDir(tmp.resolve("m2"), CFG, 3);
        ModelConfig wider = new ModelConfig("llama", 64, 128, 2, 4, 2, 16, 40, 256, 1e-5f, 10000f, null, "silu", 0f,
                false, false, 0, 1, 2);
        routers(wider, 8, 5).write(dir);
        assertThatThrownBy(() -> LteRouters.read(dir, CFG)).isInstanceOf(SparsaException.FormatException.class)
                .hasMessageContaining("intermediate_size").hasMessageContaining(LteRouters.FILE);
        LteRouters good = routers(CFG, 8, 5);
        good.write(dir);
        Map<String, String> meta;
        List<Tensor> ts = new ArrayList<>();
        try (SafetensorsFile f = SafetensorsFile.open(LteRouters.path(dir))) {
            meta = new LinkedHashMap<>(f.stringMetadata());
        }
        ts.add(Tensor.f32("lte.router.0", good.router(0), good.experts(), 64));
        SafetensorsWriter.write(LteRouters.path(dir), ts, meta);                 // layer 1 missing
        assertThatThrownBy(() -> LteRouters.read(dir, CFG)).hasMessageContaining("lte.router.1");
        meta.put("version", "9");
        SafetensorsWriter.write(LteRouters.path(dir), ts, meta);
        assertThatThrownBy(() -> LteRouters.read(dir, CFG)).hasMessageContaining("version");
        assertThat(SparseMode.of("lte").calibrated()).as("no calibration file").isFalse();
    }
}
