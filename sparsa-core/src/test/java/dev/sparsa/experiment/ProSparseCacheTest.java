package dev.sparsa.experiment;

import dev.sparsa.eval.EvalGolden;
import dev.sparsa.io.ModelFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The cache key of {@link ProSparseCache}: the folder name changes with every option of the spec and with the dense
 * model's content (not its path), and a folder without its summary is not a cached model. (Training and the reuse of
 * a cached folder: ModesQuickTest in sparsa-cli.)
 */
class ProSparseCacheTest {

    @Test
    void theFolderNamesTheSpecAndTheDenseWeights(@TempDir Path tmp) throws Exception {
        EvalGolden g = EvalGolden.load();
        Path a = g.writeModelDir("silu", tmp.resolve("a"));
        Path b = g.writeModelDir("silu", tmp.resolve("b"));
        String h = ProSparseCache.contentHash(a);
        assertThat(h).matches("[0-9a-f]{16}");
        assertThat(ProSparseCache.contentHash(b)).as("same weights elsewhere").isEqualTo(h);
        byte[] w = Files.readAllBytes(b.resolve(ModelFiles.SAFETENSORS));
        w[w.length - 1] ^= 1;                                  // one bit of the last weight
        Files.write(b.resolve(ModelFiles.SAFETENSORS), w);
        assertThat(ProSparseCache.contentHash(b)).isNotEqualTo(h);

        ProSparseCache.Spec s = ProSparseCache.Spec.quick("m", 128);
        assertThat(s.folder(h)).matches("m-[0-9a-f]{8}").isEqualTo(ProSparseCache.Spec.quick("m", 128).folder(h));
        assertThat(ProSparseCache.location(tmp, a, s)).isEqualTo(tmp.resolve("models").resolve(s.folder(h)));
        ProSparseCache.Spec[] others = {
            new ProSparseCache.Spec("m", 21, s.lambdas(), s.tolerance(), s.batch(), s.seq(), s.lr(), s.warmup(),
                    s.seed(), s.valTokens()),
            new ProSparseCache.Spec("m", s.stageSteps(), new float[]{0.35f, 1.75f}, s.tolerance(), s.batch(),
                    s.seq(), s.lr(), s.warmup(), s.seed(), s.valTokens()),
            new ProSparseCache.Spec("m", s.stageSteps(), s.lambdas(), 0.02, s.batch(), s.seq(), s.lr(), s.warmup(),
                    s.seed(), s.valTokens()),
            new ProSparseCache.Spec("m", s.stageSteps(), s.lambdas(), s.tolerance(), s.batch(), 64, s.lr(),
                    s.warmup(), s.seed(), s.valTokens()),
            new ProSparseCache.Spec("m", s.stageSteps(), s.lambdas(), s.tolerance(), s.batch(), s.seq(), s.lr(),
                    s.warmup(), 7, s.valTokens()),
        };
        for (ProSparseCache.Spec o : others) {
            assertThat(o.folder(h)).as(o.toString()).isNotEqualTo(s.folder(h));
        }
        assertThat(s.folder(ProSparseCache.contentHash(b))).isNotEqualTo(s.folder(h));
    }

    @Test
    void aFolderWithoutItsSummaryIsNotCached(@TempDir Path tmp) throws Exception {
        Path m = EvalGolden.load().writeModelDir("relu", tmp.resolve("m"));
        assertThat(ProSparseCache.cached(m)).isNull();
        Files.writeString(m.resolve(ProSparseCache.SUMMARY), "{\"name\": \"m\"}");
        ProSparseCache.Entry e = ProSparseCache.cached(m);
        assertThat(e).isNotNull();
        assertThat(e.cached()).isTrue();
        assertThat(e.summary()).containsEntry("name", "m");
    }
}
