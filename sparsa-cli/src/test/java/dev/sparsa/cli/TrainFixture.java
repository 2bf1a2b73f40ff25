package dev.sparsa.cli;

import dev.sparsa.eval.EvalGolden;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * What the trainer's CLI tests share: a tiny Llama config.json (vocab 512, hidden 32, 2 layers, 4 / 2 heads, FFN 64,
 * context 64: 45k parameters, a step takes milliseconds), the evaluation golden's text split into a training and a
 * validation file, and its 512-token byte-level BPE; the options of a short run; and snapshots of a folder's files.
 */
final class TrainFixture {
    final Path dir;
    final Path config;
    final Path text;
    final Path valText;
    final Path tokenizer;

    static final String CONFIG = """
            {"model_type": "llama", "vocab_size": 512, "hidden_size": 32, "intermediate_size": 64,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
             "max_position_embeddings": 64, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "hidden_act": "silu",
             "tie_word_embeddings": false}
            """;

    TrainFixture(Path dir) {
        this.dir = dir;
        try {
            Files.createDirectories(dir);
            config = Files.writeString(dir.resolve("config.json"), CONFIG);
            List<String> lines = Files.readAllLines(EvalGolden.resource("text.txt"));
            text = Files.write(dir.resolve("train.txt"), lines.subList(0, 160));
            valText = Files.write(dir.resolve("valid.txt"), lines.subList(160, lines.size()));
            Path tokDir = Files.createDirectories(dir.resolve("tokenizer"));
            tokenizer = Files.copy(EvalGolden.resource("tokenizer.json"), tokDir.resolve("tokenizer.json"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code pretrain} of the tiny config on the training text: batch 4 x 16 tokens, 2 threads, then {@code extra}. */
    String[] pretrain(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("pretrain", "--config", config.toString(), "--tokenizer",
                tokenizer.toString(), "--text", text.toString(), "--out", out.toString(), "--batch", "4", "--seq",
                "16", "--warmup", "2", "--lr", "3e-3", "--threads", "2"));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    /** {@code sparsify} of {@code model} on the training text, batch 4 x 16, 2 threads, then {@code extra}. */
    String[] sparsify(Path model, Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("sparsify", "--model", model.toString(), "--text", text.toString(),
                "--out", out.toString(), "--batch", "4", "--seq", "16", "--warmup", "1", "--lr", "2e-3", "--threads",
                "2"));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    /** {@code args} with {@code option}'s value replaced (or the option added). */
    static String[] with(String[] args, String option, String value) {
        List<String> a = new ArrayList<>(List.of(args));
        int i = a.indexOf(option);
        if (i >= 0) {
            a.set(i + 1, value);
        } else {
            a.addAll(List.of(option, value));
        }
        return a.toArray(String[]::new);
    }

    /** Every regular file under {@code root} (relative path) with the SHA-256 of its bytes. */
    static Map<String, String> snapshot(Path root) {
        Map<String, String> m = new TreeMap<>();
        if (!Files.exists(root)) {
            return m;
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path f : s.filter(Files::isRegularFile).toList()) {
                m.put(root.relativize(f).toString(), sha256(Files.readAllBytes(f)));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return m;
    }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A copy of folder {@code from} at {@code to}. */
    static Path copyTree(Path from, Path to) {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path f : s.toList()) {
                Path t = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(f, t);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return to;
    }
}
