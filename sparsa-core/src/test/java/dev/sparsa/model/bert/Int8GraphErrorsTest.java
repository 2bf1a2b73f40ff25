package dev.sparsa.model.bert;

import dev.sparsa.SparsaException.UnsupportedException;
import dev.sparsa.io.onnx.OnnxModel;
import dev.sparsa.model.bert.TinyBertOnnx.Int8Flaw;
import dev.sparsa.tensor.Parallel;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Dynamic-int8 graphs that depart from ONNX Runtime's quantizer (built by {@link TinyBertOnnx#buildInt8} with one
 * flaw in layer 0's intermediate dense): each is refused in one line naming the node and its operator, never as a
 * "not a BERT encoder graph" somewhere else. The unflawed graph loads and runs, so each message is the flaw's.
 */
class Int8GraphErrorsTest {

    @Test
    void theUnflawedInt8GraphLoadsAndRuns() {
        try (OnnxModel m = OnnxModel.parse("tiny-q.onnx", TinyBertOnnx.buildInt8(7, Int8Flaw.NONE));
             Parallel par = new Parallel(1)) {
            BertModel bert = BertModel.fromOnnx(m);
            assertThat(bert.weights().layers().getFirst().in()).isInstanceOf(BertModel.Linear.DynamicInt8.class);
            float[][] h = bert.forward(BertModel.Batch.of(List.of(new int[]{1, 5, 7, 2})), dev.sparsa.model.ActivationTap.NONE, par);
            assertThat(h[0]).hasSize(4 * TinyBertOnnx.D);
            for (float v : h[0]) {
                assertThat(v).isFinite();
            }
        }
    }

    @Test
    void eachFlawIsOneLineNamingTheNodeAndOperator() {
        String mmi = "tiny-q.onnx: node 'l0_in_mmi_node' (MatMulInteger) ";
        Object[][] cases = {
                {Int8Flaw.ZERO_POINT_MISSING, mmi + "has a weight zero point 'l0_in_wz' that is not a constant of 16 "
                        + "or 1 INT8 values"},
                {Int8Flaw.ZERO_POINT_WRONG_SHAPE, mmi + "has a weight zero point 'l0_in_wz' that is not a constant "
                        + "of 16 or 1 INT8 values"},
                {Int8Flaw.ZERO_POINT_WRONG_TYPE, mmi + "has a weight zero point 'l0_in_wz' that is not a constant "
                        + "of 16 or 1 INT8 values"},
                {Int8Flaw.SCALE_MISSING, mmi + "is not rescaled by Mul(Cast(y), Mul(input scale, weight scale)) "
                        + "with a float weight scale of 16 or 1 values"},
                {Int8Flaw.SCALE_WRONG_SHAPE, mmi + "is not rescaled by Mul(Cast(y), Mul(input scale, weight scale)) "
                        + "with a float weight scale of 16 or 1 values"},
                {Int8Flaw.SCALE_WRONG_TYPE, mmi + "is not rescaled by Mul(Cast(y), Mul(input scale, weight scale)) "
                        + "with a float weight scale of 16 or 1 values"},
                {Int8Flaw.NO_CAST, mmi + "is not followed by a Cast to float (the rescale of ONNX Runtime's "
                        + "quantizer)"},
                {Int8Flaw.FOREIGN_INPUT_ZERO_POINT, mmi + "is a MatMulInteger whose input is not quantized by a "
                        + "DynamicQuantizeLinear with its own zero point"},
                {Int8Flaw.FLOAT_WEIGHT, mmi + "multiplies by 'l0_in_wq', which is not an int8 or uint8 weight "
                        + "matrix"},
                {Int8Flaw.CODES_FEED_RELU, "tiny-q.onnx: node 'l0_ln1_dq_odd_node' (Relu) reads the uint8 codes "
                        + "'l0_ln1_dq_q' of DynamicQuantizeLinear 'l0_ln1_dq_node'; they are run only as the input A "
                        + "of a MatMulInteger"},
        };
        for (Object[] c : cases) {
            try (OnnxModel m = OnnxModel.parse("tiny-q.onnx", TinyBertOnnx.buildInt8(7, (Int8Flaw) c[0]))) {
                assertThatThrownBy(() -> BertModel.fromOnnx(m)).as("%s", c[0])
                        .isInstanceOf(UnsupportedException.class).hasMessage((String) c[1]);
            }
        }
    }
}
