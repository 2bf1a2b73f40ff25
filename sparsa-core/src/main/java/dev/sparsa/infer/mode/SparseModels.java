package dev.sparsa.infer.mode;

import dev.sparsa.SparsaException;
import dev.sparsa.infer.ExactSparseFfn;
import dev.sparsa.infer.GateSparseFfn;
import dev.sparsa.infer.LteFfn;
import dev.sparsa.infer.NeuronRule;
import dev.sparsa.infer.Predictor;
import dev.sparsa.infer.PredictorFfn;
import dev.sparsa.infer.SparseStats;
import dev.sparsa.infer.TealAttention;
import dev.sparsa.infer.TealFfn;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.model.Activation;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.FfnKernel;
import dev.sparsa.model.LteRouters;
import dev.sparsa.model.llama.AttnProjections;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.spec.ModelConfig;

import java.lang.foreign.Arena;
import java.nio.file.Path;

/**
 * A decoder loaded in a {@link SparseMode}: the one place a mode becomes kernels, used by every command that runs a
 * model. The mode's semantics are fixed by its calibration ({@link NeuronRule}s, TEAL thresholds, a predictor and τ);
 * which kernel implements them is decided here alone, so a faster kernel replaces one line below.
 */
public final class SparseModels {
    private SparseModels() {
    }

    /**
     * A model in a mode.
     *
     * @param calibration     null for dense and exact
     * @param calibrationPath the file it came from, or null
     */
    public record Loaded(LlamaModel model, SparseMode mode, Calibration calibration, Path calibrationPath) {
    }

    /**
     * Refuses a mode the model cannot run, before anything is loaded: {@code exact} needs a ReLU-family activation
     * (a SiLU/GELU model gets the calibrated modes suggested).
     */
    public static void checkCompatible(SparseMode mode, ModelConfig cfg) {
        Activation act = Activation.of(cfg.hiddenAct(), cfg.fatreluThreshold());
        if (mode == SparseMode.EXACT && !act.zeroBelow()) {
            throw new SparsaException.UnsupportedException("--sparse exact needs a ReLU-family model (relu, relu2, "
                    + "fatrelu, drelu: exact zeros to skip); this model uses " + cfg.hiddenAct() + ": use --sparse "
                    + "cats, teal or predicted (after sparsa calibrate --method cats|teal|predictor)");
        }
    }

    /**
     * Loads {@code files} in {@code mode}, reading the calibration at {@code calibration} (null: the default path
     * beside the model, {@link CalibrationFile#defaultPath}); {@code stats} (may be null) collects what TEAL and
     * predictor kernels measure.
     */
    public static Loaded load(ModelFiles files, SparseMode mode, Path calibration, SparseStats stats) {
        ModelConfig cfg = files.config();
        checkCompatible(mode, cfg);
        if (mode == SparseMode.LTE) {                          // the routers are part of the trained model
            Path dir = routerDir(files.location());
            LteRouters r = LteRouters.read(dir, cfg);
            return new Loaded(lte(LlamaWeights.load(cfg, files.weights()), r), mode, null, LteRouters.path(dir));
        }
        LlamaWeights w = LlamaWeights.load(cfg, files.weights());
        if (!mode.calibrated()) {
            return new Loaded(of(w, mode, null, stats), mode, null, null);
        }
        Path p = calibration != null ? calibration : CalibrationFile.defaultPath(files.location(), mode);
        Calibration c = CalibrationFile.read(p, mode, ModelShape.of(cfg, files.weights()));
        return new Loaded(of(w, mode, c, stats), mode, c, p);
    }

    /** The folder whose {@value LteRouters#FILE} belongs to the model at {@code location} (a folder or a file in it). */
    static Path routerDir(Path location) {
        Path m = location.toAbsolutePath().normalize();
        return java.nio.file.Files.isDirectory(m) ? m : m.getParent();
    }

    /** A model over bound weights in the {@code lte} mode with its routers. */
    public static LlamaModel lte(LlamaWeights w, LteRouters r) {
        return LlamaModel.of(w, LteFfn.factory(r), null);
    }

    /** A model over bound weights in {@code mode} with calibration {@code c} (null for dense and exact). */
    public static LlamaModel of(LlamaWeights w, SparseMode mode, Calibration c, SparseStats stats) {
        checkCompatible(mode, w.config());
        if (mode == SparseMode.LTE) {
            throw new IllegalArgumentException("--sparse lte reads its routers from the model folder: use lte(w, routers)");
        }
        if (mode.calibrated() && (c == null || c.mode() != mode || c.layers().size() != w.config().numLayers())) {
            throw new IllegalArgumentException("--sparse " + mode.key() + " needs its own calibration of "
                    + w.config().numLayers() + " layers");
        }
        return LlamaModel.of(w, ffn(mode, c, stats), attention(mode, c, stats));
    }

    /** The FFN kernels of {@code mode}. */
    public static FfnKernel.Factory ffn(SparseMode mode, Calibration c, SparseStats stats) {
        return switch (mode) {
            case DENSE -> DenseFfn::new;
            case EXACT -> ExactSparseFfn::new;
            case CATS -> (fw, act) -> new GateSparseFfn(fw, act,
                    new NeuronRule.Magnitude(c.layers().get(fw.layer()).threshold()));
            case TOPK -> (fw, act) -> new GateSparseFfn(fw, act, new NeuronRule.StatTopK(c.layers().get(fw.layer())
                    .z()));
            case TEAL -> (fw, act) -> new TealFfn(fw, act, c.layers().get(fw.layer()).tealThreshold(), stats);
            case PREDICTED -> (fw, act) -> {
                Calibration.Layer l = c.layers().get(fw.layer());
                Predictor p = c.predictors().get(fw.layer()).as(c.predictor().dtype(), Arena.ofAuto());
                return new PredictorFfn(fw, act, p, l.tau(), label(c, l), stats);  // the dtype τ was chosen for
            };
            case LTE -> throw new IllegalArgumentException("--sparse lte's kernels need the routers: LteFfn.factory");
            case ATTRIBUTION -> (fw, act) -> new GateSparseFfn(fw, act, new NeuronRule.Attributed(
                    c.importance().get(fw.layer()), c.attributionKeep(c.importance().get(fw.layer()).length)));
        };
    }

    /** What a predictor's labels keep: act ≠ 0, or CATS's |act| ≥ t. */
    public static NeuronRule label(Calibration c, Calibration.Layer l) {
        return c.predictor().labels().equals("cats") ? new NeuronRule.Magnitude(l.threshold())
                : new NeuronRule.NonZero();
    }

    /** The attention projections of {@code mode}: TEAL's, or null (dense). */
    public static AttnProjections.Factory attention(SparseMode mode, Calibration c, SparseStats stats) {
        if (mode != SparseMode.TEAL) {
            return null;
        }
        return ly -> new TealAttention(ly, c.layers().get(ly.index()).tealThreshold(), stats);
    }
}
