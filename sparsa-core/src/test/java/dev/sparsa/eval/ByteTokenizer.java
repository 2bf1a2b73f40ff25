package dev.sparsa.eval;

import dev.sparsa.io.corpus.Corpus;
import dev.sparsa.io.tokenizer.Tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.IntUnaryOperator;

/**
 * A test tokenizer of one token per UTF-8 byte, EOS id 0, no BOS (the tiny corpora of the token-stream and the
 * continual-learning tests): {@link #BYTES} (id = byte + 1, vocabulary 257) and {@link #LETTERS} (a..j → 1..10,
 * vocabulary 11, for the tiny models), each token counting {@code bytes(id)} bytes.
 *
 * @param vocab vocabulary size (ids 0..vocab − 1, 0 the EOS)
 * @param id    a byte (0..255) → its token id
 * @param back  a token id → its byte
 * @param bytes a token id → the bytes it counts for ({@link Tokenizer#tokenBytes})
 */
public record ByteTokenizer(int vocab, IntUnaryOperator id, IntUnaryOperator back, IntUnaryOperator bytes)
        implements Tokenizer {

    /** UTF-8 bytes as tokens, id = byte + 1 (id 0 is free for EOS); each token one byte. */
    public static final ByteTokenizer BYTES = new ByteTokenizer(257, b -> b + 1, i -> i - 1, i -> 1);

    /** Letters a..j → 1..10 (other bytes folded onto them mod 10), EOS 0; one byte a token. */
    public static final ByteTokenizer LETTERS = new ByteTokenizer(11, b -> 1 + Math.floorMod(b - 'a', 10),
            i -> 'a' + i - 1, i -> 1);

    /** The same ids with other byte counts. */
    public ByteTokenizer withBytes(IntUnaryOperator counts) {
        return new ByteTokenizer(vocab, id, back, counts);
    }

    /** The stream of {@code lines} (documents), each followed by EOS. */
    public TokenStream stream(String... lines) {
        return TokenStream.of(new Corpus("t", List.of(lines)), this, 0);
    }

    @Override
    public int[] encode(String text, boolean addSpecial) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[b.length];
        for (int i = 0; i < b.length; i++) {
            ids[i] = id.applyAsInt(b[i] & 0xff);
        }
        return ids;
    }

    @Override
    public String decode(int[] ids, boolean skipSpecial) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int i : ids) {
            b.write(back.applyAsInt(i));
        }
        return b.toString(StandardCharsets.UTF_8);
    }

    @Override
    public int vocabSize() {
        return vocab;
    }

    @Override
    public String token(int i) {
        return String.valueOf(i);
    }

    @Override
    public int bosId() {
        return -1;
    }

    @Override
    public int eosId() {
        return 0;
    }

    @Override
    public boolean isSpecial(int i) {
        return i == 0;
    }

    @Override
    public int tokenBytes(int i) {
        return bytes.applyAsInt(i);
    }
}
