package dev.sparsa.io.tokenizer;

import java.util.List;

/**
 * tokenizer.json {@code post_processor} (HF tokenizers {@code processors::*}), for a single sequence: adds the
 * model's special tokens around the ids when the caller asks for special tokens.
 */
sealed interface PostProcessor {

    int[] process(int[] ids);

    /** The ids this processor puts before the sequence (e.g. BOS / [CLS]). */
    int[] prefix();

    /** The ids this processor puts after the sequence (e.g. EOS / [SEP]). */
    int[] suffix();

    /** HF {@code TemplateProcessing}, single template: special-token ids before and after {@code $A}. */
    record Template(int[] prefix, int[] suffix) implements PostProcessor {
        public int[] process(int[] ids) {
            return wrap(prefix, ids, suffix);
        }
    }

    /** HF {@code BertProcessing} ({@code [CLS] $A [SEP]}) and {@code RobertaProcessing} ({@code <s> $A </s>}). */
    record ClsSep(int cls, int sep) implements PostProcessor {
        public int[] process(int[] ids) {
            return wrap(prefix(), ids, suffix());
        }

        public int[] prefix() {
            return new int[] {cls};
        }

        public int[] suffix() {
            return new int[] {sep};
        }
    }

    /** HF {@code ByteLevel} post-processor: only trims offsets, ids unchanged. */
    record ByteLevelPost() implements PostProcessor {
        public int[] process(int[] ids) {
            return ids;
        }

        public int[] prefix() {
            return new int[0];
        }

        public int[] suffix() {
            return new int[0];
        }
    }

    /** HF {@code Sequence}: each processor in turn. */
    record Sequence(List<PostProcessor> processors) implements PostProcessor {
        public int[] process(int[] ids) {
            for (PostProcessor p : processors) {
                ids = p.process(ids);
            }
            return ids;
        }

        public int[] prefix() {
            int[] r = new int[0];
            for (PostProcessor p : processors) {
                r = wrap(p.prefix(), r, new int[0]);
            }
            return r;
        }

        public int[] suffix() {
            int[] r = new int[0];
            for (PostProcessor p : processors) {
                r = wrap(new int[0], r, p.suffix());
            }
            return r;
        }
    }

    private static int[] wrap(int[] pre, int[] ids, int[] post) {
        if (pre.length == 0 && post.length == 0) {
            return ids;
        }
        int[] r = new int[pre.length + ids.length + post.length];
        System.arraycopy(pre, 0, r, 0, pre.length);
        System.arraycopy(ids, 0, r, pre.length, ids.length);
        System.arraycopy(post, 0, r, pre.length + ids.length, post.length);
        return r;
    }
}
