package dev.sparsa.io.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * The HF tokenizers pipeline ({@code TokenizerImpl::encode_single_sequence} / {@code decode}): added tokens split
 * out of the raw text → normalizer → pre-tokenizer → model → post-processor; decode maps ids to token strings
 * (dropping special ones when asked) and runs the decoder. Built by {@link TokenizerJson} and {@link GgufTokenizer}.
 * Immutable apart from the model's word cache, so one instance may serve many threads.
 *
 * <p>Input text is a Java String: an unpaired surrogate has no UTF-8 form and is encoded as U+FFFD (so it decodes
 * back as U+FFFD).
 */
final class PipelineTokenizer implements Tokenizer {
    private final AddedVocabulary added;
    private final Normalizer normalizer;
    private final PreTokenizer preTokenizer;
    private final Model model;
    private final PostProcessor postProcessor;
    private final Decoder decoder;
    private final int bos;
    private final int eos;
    private final int vocabSize;

    PipelineTokenizer(AddedVocabulary added, Normalizer normalizer, PreTokenizer preTokenizer, Model model,
            PostProcessor postProcessor, Decoder decoder, int bos, int eos) {
        this.added = added;
        this.normalizer = normalizer;
        this.preTokenizer = preTokenizer;
        this.model = model;
        this.postProcessor = postProcessor;
        this.decoder = decoder;
        this.bos = bos;
        this.eos = eos;
        int size = model.size();
        for (AddedVocabulary.AddedToken t : added.tokens()) {
            size = Math.max(size, t.id() + 1);
        }
        this.vocabSize = size;
    }

    @Override
    public int[] encode(String text, boolean addSpecial) {
        text = Chars.replaceLoneSurrogates(text);
        Ids out = new Ids(text.length() / 3 + 8);
        List<String> words = new ArrayList<>();
        for (AddedVocabulary.Segment seg : added.split(text, normalizer)) {
            if (seg.id() >= 0) {
                out.add(seg.id());
                continue;
            }
            words.clear();
            if (preTokenizer == null) {
                words.add(seg.text());
            } else {
                preTokenizer.split(seg.text(), seg.atStart(), words);
            }
            for (String w : words) {
                model.tokenize(w, out);
            }
        }
        int[] ids = out.toArray();
        return addSpecial && postProcessor != null ? postProcessor.process(ids) : ids;
    }

    @Override
    public String decode(int[] ids, boolean skipSpecial) {
        List<String> tokens = new ArrayList<>(ids.length);
        for (int id : ids) {
            AddedVocabulary.AddedToken a = added.get(id);
            if (a != null) {
                if (!(skipSpecial && a.special())) {
                    tokens.add(a.content());
                }
                continue;
            }
            String t = model.idToToken(id);
            if (t != null) { // HF drops ids it does not know
                tokens.add(t);
            }
        }
        if (decoder == null) {
            return String.join(" ", tokens);
        }
        return String.join("", decoder.decodeChain(tokens));
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public String token(int id) {
        AddedVocabulary.AddedToken a = added.get(id);
        return a != null ? a.content() : model.idToToken(id);
    }

    @Override
    public int bosId() {
        return bos;
    }

    @Override
    public int eosId() {
        return eos;
    }

    @Override
    public boolean isSpecial(int id) {
        AddedVocabulary.AddedToken a = added.get(id);
        return a != null && a.special();
    }

    @Override
    public int tokenBytes(int id) {
        AddedVocabulary.AddedToken a = added.get(id);
        String t = a != null ? a.content() : model.idToToken(id);
        if (t == null) {
            return 0; // decode drops it
        }
        if (decoder == null) { // decode joins the tokens with spaces
            return t.getBytes(java.nio.charset.StandardCharsets.UTF_8).length + 1;
        }
        return decoder.piece(Decoder.Piece.of(t)).utf8Bytes();
    }

    /** The id of {@code token} (added or model vocabulary), or -1. */
    int idOf(String token) {
        for (AddedVocabulary.AddedToken t : added.tokens()) {
            if (t.content().equals(token)) {
                return t.id();
            }
        }
        return model.vocab().getOrDefault(token, -1);
    }

    PostProcessor postProcessor() {
        return postProcessor;
    }
}
