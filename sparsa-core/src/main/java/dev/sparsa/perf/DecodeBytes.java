package dev.sparsa.perf;

import dev.sparsa.infer.ExactSparseFfn;
import dev.sparsa.infer.LteFfn;
import dev.sparsa.infer.PredictedSparseFfn;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.model.FfnKernel;
import dev.sparsa.model.FfnWeights;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.tensor.Tensor;

/**
 * Bytes a decoded token reads: every weight matrix a decode step reads (attention, FFN, lm_head; one embedding row)
 * plus the KV cache at the mean context; for a sparse FFN the up rows and down columns of the active neurons only,
 * counted from the measured activity of the same tokens ({@link ActivityTap}).
 */
public final class DecodeBytes {
    private DecodeBytes() {
    }

    /** Bytes of the decode step for a dense model at {@code context} cached positions. */
    public static double dense(ModelFiles files, int context) {
        var c = files.config();
        double bytes = 0;
        for (ModelFiles.TensorMeta t : files.describeAll()) {
            if (t.shape().length < 2) {
                bytes += t.bytes();
            } else if (t.name().equals("model.embed_tokens.weight")) {
                bytes += (double) t.bytes() / t.shape()[0];                       // one row
                if (c.tieWordEmbeddings()) {
                    bytes += t.bytes();                                            // read again as lm_head
                }
            } else {
                bytes += t.bytes();
            }
        }
        bytes += kvBytes(files, context);
        return bytes;
    }

    private static double kvBytes(ModelFiles files, int context) {
        var c = files.config();
        return (double) c.numLayers() * context * c.numKvHeads() * c.headDim() * 2 * Float.BYTES;
    }

    /**
     * Bytes of a decode step with the kernels of {@code m}: dense bytes minus the FFN up/down bytes of every layer
     * whose kernel is sparse, plus the rows its active neurons read.
     */
    public static double sparse(ModelFiles files, LlamaModel m, ActivityTap tap, int context) {
        double bytes = dense(files, context);
        for (int l = 0; l < m.numLayers(); l++) {
            FfnKernel k = m.ffn(l);
            FfnWeights w = k.weights();
            if (k instanceof ExactSparseFfn e) {
                Tensor up = w.up();
                Tensor down = w.down();
                bytes -= up.data().byteSize() + down.data().byteSize();
                bytes += tap.meanActive(l) * e.activeNeuronBytes();
            } else if (k instanceof LteFfn x) {
                // the F32 router, and the bundled [gate | up | down] records of the neurons with act ≠ 0: for a SiLU
                // model the selected experts' neurons (a ReLU model's zeros inside selected experts are undercounted)
                bytes -= w.gate().data().byteSize() + w.up().data().byteSize() + w.down().data().byteSize();
                bytes += (double) x.experts() * w.hiddenSize() * Float.BYTES
                        + tap.meanActive(l) * x.bundles().activeBytes(true);
            } else if (k instanceof PredictedSparseFfn p) {
                Tensor gate = w.gate();
                Tensor up = w.up();
                Tensor down = w.down();
                bytes -= gate.data().byteSize() + up.data().byteSize() + down.data().byteSize();
                bytes += p.predictorBytes() + p.candidateFraction() * gate.data().byteSize();
                bytes += tap.meanActive(l) * p.activeNeuronBytes();
            }
        }
        return bytes;
    }
}
