package dev.sparsa.io.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import dev.sparsa.eval.TokenStream;
import dev.sparsa.io.tokenizer.TokenizerFixtures.Tok;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The per-token bytes of the evaluation protocol ({@link Tokenizer#tokenBytes} settled per document by
 * {@link TokenStream#documentBytes}) on the real byte-level (Llama-3, Qwen3) and byte-fallback SentencePiece
 * (Llama-2) tokenizers: a document's bytes sum to its UTF-8 length, and they agree with Hugging Face tokenizers'
 * character offsets (Rust, via DJL) at every token boundary that is a character boundary (the bytes so far equal the
 * UTF-8 length of the line up to the token's end offset).
 */
class TokenBytesTest {

    static int utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }

    static int[] docBytes(Tokenizer tok, String line) {
        int[] ids = tok.encode(line, false);
        int[] b = new int[ids.length];
        TokenStream.documentBytes(tok, ids, utf8(line), b, 0);
        return b;
    }

    /** Lines with no literal special token and no ▁ (which Llama-2 reads as its space marker). */
    static List<String> lines() {
        List<String> out = new ArrayList<>(TokenizerFixtures.brownLines(20, 5));
        for (String s : TokenizerFixtures.CRAFTED) {
            if (!s.isBlank() && !s.contains("<") && !s.contains("[") && s.indexOf('\u2581') < 0) {
                out.add(s);
            }
        }
        out.addAll(TokenizerFixtures.random(99, 150, 30).stream().filter(s -> !s.isBlank()).toList());
        return out;
    }

    @ParameterizedTest
    @EnumSource(value = Tok.class, names = {"LLAMA2", "LLAMA3", "QWEN3"})
    void documentBytesSumToTheLineAndAgreeWithHfOffsets(Tok t) {
        Tokenizer tok = TokenizerReferenceTest.ours(t);
        HuggingFaceTokenizer ref = TokenizerReferenceTest.ref(t);
        int boundaries = 0;
        List<String> bad = new ArrayList<>();
        for (String line : lines()) {
            int[] b = docBytes(tok, line);
            assertThat(Arrays.stream(b).sum()).as("%s: bytes of %s", t, TokenizerReferenceTest.esc(line))
                    .isEqualTo(utf8(line));
            assertThat(Arrays.stream(b).min().orElse(0)).isGreaterThanOrEqualTo(0);
            String nfc = java.text.Normalizer.normalize(line, java.text.Normalizer.Form.NFC);
            if (t == Tok.QWEN3 && !nfc.equals(line)) {
                continue; // NFC changed the text: HF's offsets point into the original, ours count normalized bytes
            }
            Encoding e = ref.encode(line, false, false);
            assertThat(Arrays.stream(e.getIds()).mapToInt(Math::toIntExact).toArray())
                    .isEqualTo(tok.encode(line, false));
            CharSpan[] spans = e.getCharTokenSpans();
            long cum = 0;
            for (int i = 0; i < b.length; i++) {
                cum += b[i];
                int end = spans[i].getEnd();
                boolean boundary = i + 1 == b.length || spans[i + 1].getStart() >= end;
                if (boundary && end >= 0) {
                    boundaries++;
                    // HF's offsets count code points (Rust chars), Java's strings UTF-16 units
                    int cps = line.codePointCount(0, line.length());
                    long want = utf8(line.substring(0, line.offsetByCodePoints(0, Math.min(end, cps))));
                    if (cum != want && i + 1 < b.length) {
                        bad.add(TokenizerReferenceTest.esc(line) + " token " + i + " '" + tok.token(
                                tok.encode(line, false)[i]) + "' end " + end + ": " + cum + " vs " + want);
                    }
                }
            }
        }
        assertThat(bad).as("%s: token boundaries where the bytes so far differ from HF's offsets", t).isEmpty();
        assertThat(boundaries).isGreaterThan(1000);
    }

    @Test
    void llama2PrefixSpaceAndByteFallback() {
        Tokenizer tok = TokenizerReferenceTest.ours(Tok.LLAMA2);
        // "▁Hello" carries the space the normalizer prepended: 6 bytes as a piece, 5 in the document.
        int[] ids = tok.encode("Hello world", false);
        assertThat(tok.token(ids[0])).isEqualTo("\u2581Hello");
        assertThat(tok.tokenBytes(ids[0])).isEqualTo(6);
        assertThat(docBytes(tok, "Hello world")).containsExactly(5, 6);
        // An emoji Llama-2 has no piece for: ▁ then four <0xNN> byte tokens of one byte each; the ▁ is the prefix.
        int[] emoji = tok.encode("\uD83E\uDD8A ok", false); // 🦊
        List<String> pieces = Arrays.stream(emoji).mapToObj(tok::token).toList();
        assertThat(pieces).containsExactly("\u2581", "<0xF0>", "<0x9F>", "<0xA6>", "<0x8A>", "\u2581ok");
        assertThat(docBytes(tok, "\uD83E\uDD8A ok")).containsExactly(0, 1, 1, 1, 1, 3);
    }

    @Test
    void byteLevelPiecesOfASplitCharacterCountTheirOwnBytes() {
        Tokenizer tok = TokenizerReferenceTest.ours(Tok.LLAMA3);
        String s = "\uD83E\uDD8A"; // 🦊, F0 9F A6 8A: not one Llama-3 token
        int[] ids = tok.encode(s, false);
        assertThat(ids.length).isGreaterThan(1);
        int[] b = docBytes(tok, s);
        for (int i = 0; i < ids.length; i++) {
            assertThat(b[i]).isEqualTo(tok.token(ids[i]).length()); // one byte per byte-level char
        }
        assertThat(Arrays.stream(b).sum()).isEqualTo(4);
    }

    @Test
    void specialTokensCountTheirContent() {
        Tokenizer tok = TokenizerReferenceTest.ours(Tok.LLAMA3);
        assertThat(tok.tokenBytes(tok.eosId())).isEqualTo(utf8(tok.token(tok.eosId())));
        assertThat(tok.tokenBytes(Integer.MAX_VALUE)).isZero();
    }
}
