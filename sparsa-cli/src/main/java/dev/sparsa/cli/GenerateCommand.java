package dev.sparsa.cli;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.sparsa.SparsaException;
import dev.sparsa.infer.FfnKernels;
import dev.sparsa.infer.Generator;
import dev.sparsa.infer.mode.SparseMode;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.io.tokenizer.GgufTokenizer;
import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.io.tokenizer.TokenizerJson;
import dev.sparsa.model.FfnKernel;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.tensor.Parallel;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code sparsa generate}: text generation with a Llama-family model, streamed as it is produced. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate text with a Llama-family model (llama, mistral, qwen2), streaming tokens as they come.")
public final class GenerateCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR|FILE",
            description = "Model: a Hugging Face directory (config.json + safetensors), or a .safetensors or .gguf"
                    + " file.")
    Path model;

    @Option(names = "--prompt", paramLabel = "TEXT",
            description = "Prompt text, tokenized with the model's tokenizer.json (or the GGUF's own vocabulary).")
    String prompt;

    @Option(names = "--prompt-ids", split = ",", paramLabel = "IDS", hideParamSyntax = true,
            description = "Prompt as comma-separated token ids instead of text (no tokenizer needed).")
    int[] promptIds;

    @Option(names = "--tokenizer", paramLabel = "FILE",
            description = "tokenizer.json to use (default: the one beside the model).")
    Path tokenizerPath;

    @Option(names = "--max-tokens", defaultValue = "64", paramLabel = "N",
            description = "Most tokens to generate, >= 1 (default ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--temperature", defaultValue = "0", paramLabel = "T",
            description = "Sampling temperature, >= 0; 0 = greedy (default ${DEFAULT-VALUE}).")
    float temperature;

    @Option(names = "--top-p", defaultValue = "0.95", paramLabel = "P",
            description = "Nucleus sampling mass, in (0, 1] (default ${DEFAULT-VALUE}).")
    float topP;

    @Option(names = "--seed", defaultValue = "42", paramLabel = "SEED",
            description = "Sampling seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--threads", paramLabel = "N", description = "Worker threads (default: all processors).")
    Integer threads;

    @Option(names = "--ffn", defaultValue = "dense", paramLabel = "KERNEL",
            description = "FFN kernel: dense, exact-sparse or predicted-sparse (the sparse ones for ReLU-family models"
                    + " only) (default ${DEFAULT-VALUE}).")
    String ffn;

    @Mixin
    SparseOption sparseOption = new SparseOption();

    @Option(names = "--no-special", description = "Do not add BOS / special tokens to the prompt.")
    boolean noSpecial;

    @Option(names = "--json", description = "Print one JSON object at the end instead of streaming text.")
    boolean json;

    /** One generated token. */
    public record TokenOut(int id, String text) {
    }

    /** Timing of one run. */
    public record TimingOut(@JsonProperty("prompt_tokens") int promptTokens,
                            @JsonProperty("prefill_seconds") double prefillSeconds,
                            @JsonProperty("prefill_tokens_per_second") double prefillTokensPerSecond,
                            @JsonProperty("decode_tokens") int decodeTokens,
                            @JsonProperty("decode_seconds") double decodeSeconds,
                            @JsonProperty("decode_tokens_per_second") double decodeTokensPerSecond,
                            int threads) {
    }

    /** The --json result. */
    public record Result(String model, String ffn, String prompt,
                         @JsonProperty("prompt_ids") int[] promptIds,
                         @JsonProperty("generated_ids") int[] generatedIds,
                         @JsonProperty("generated_text") String generatedText,
                         List<TokenOut> tokens,
                         @JsonProperty("stop_reason") String stopReason,
                         TimingOut timing) {
    }

    @Override
    public Integer call() throws Exception {
        if ((prompt == null) == (promptIds == null)) {
            throw new SparsaException.UsageException("give exactly one of --prompt and --prompt-ids");
        }
        checkOptions();
        FfnKernel.Factory factory = FfnKernels.byName(ffn);
        SparseMode mode = sparseOption.mode();
        if (mode != SparseMode.DENSE && !ffn.equals("dense")) {
            throw new SparsaException.UsageException("give --sparse MODE or --ffn KERNEL, not both");
        }
        int nThreads = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        if (nThreads < 1) {
            throw new SparsaException.UsageException("--threads must be >= 1, got " + nThreads);
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try (ModelFiles files = ModelFiles.open(model); Parallel par = new Parallel(nThreads)) {
            if (!files.config().isDecoder()) {
                throw new SparsaException.UnsupportedException(model + ": generate needs a decoder model, this is "
                        + files.config().architecture());
            }
            Tokenizer tok = tokenizer(files);
            int[] ids = promptIds != null ? promptIds.clone() : tok.encode(prompt, !noSpecial);
            LlamaModel m = mode == SparseMode.DENSE ? LlamaModel.load(files.config(), files.weights(), factory)
                    : sparseOption.load(files, null).model();
            int[] stops = stopIds(files, tok);
            Generator.Options opts = new Generator.Options(maxTokens, temperature, topP, seed, stops, null);

            List<Integer> generated = new ArrayList<>();
            StringBuilder printed = new StringBuilder();
            if (!json && tok != null && prompt != null) {
                out.print(prompt);
                out.flush();
            }
            Generator.Result r = new Generator(m, par).generate(ids, opts, id -> {
                generated.add(id);
                if (!json) {
                    stream(out, tok, generated, printed);
                }
            });
            String text = text(tok, r.generatedIds());
            Generator.Timing t = r.timing();
            TimingOut timing = new TimingOut(t.promptTokens(), t.prefillSeconds(), t.prefillTokensPerSecond(),
                    t.decodeTokens(), t.decodeSeconds(), t.decodeTokensPerSecond(), nThreads);
            if (json) {
                List<TokenOut> tokens = new ArrayList<>();
                for (int id : r.generatedIds()) {
                    tokens.add(new TokenOut(id, tok == null ? null : tok.decode(new int[] {id}, false)));
                }
                Result res = new Result(model.toString(), mode == SparseMode.DENSE ? ffn : mode.key(), prompt, ids, r.generatedIds(), text, tokens,
                        r.stopReason().name().toLowerCase(), timing);
                out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(res));
            } else {
                if (tok != null) {   // flush what was held back (an incomplete UTF-8 sequence at the very end)
                    String full = text(tok, r.generatedIds());
                    if (full.length() > printed.length() && full.startsWith(printed.toString())) {
                        out.print(full.substring(printed.length()));
                    }
                }
                out.println();
                out.flush();
                err.printf("[%d prompt tokens: %.1f tok/s prefill; %d generated: %.1f tok/s decode; stop: %s; "
                                + "%d threads]%n", t.promptTokens(), t.prefillTokensPerSecond(),
                        r.generatedIds().length, t.decodeTokensPerSecond(), r.stopReason().name().toLowerCase(),
                        nThreads);
                err.flush();
            }
        }
        return 0;
    }

    /** Option values that cannot work, refused before the model is loaded. */
    private void checkOptions() {
        if (maxTokens < 1) {
            throw new SparsaException.UsageException("--max-tokens must be >= 1, got " + maxTokens);
        }
        if (!(temperature >= 0) || Float.isInfinite(temperature)) {   // also NaN
            throw new SparsaException.UsageException("--temperature must be >= 0 (0 = greedy), got " + temperature);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new SparsaException.UsageException("--top-p must be in (0, 1], got " + topP);
        }
        if (promptIds != null && promptIds.length == 0) {
            throw new SparsaException.UsageException("--prompt-ids: no token ids given");
        }
    }

    /** Prints the text the new token adds; holds back a trailing U+FFFD (an incomplete multi-byte character). */
    private static void stream(PrintWriter out, Tokenizer tok, List<Integer> generated, StringBuilder printed) {
        if (tok == null) {   // no tokenizer: stream the ids
            out.print(generated.getLast() + " ");
            out.flush();
            return;
        }
        String full = text(tok, generated.stream().mapToInt(Integer::intValue).toArray());
        if (full.endsWith("\uFFFD") || !full.startsWith(printed.toString())) {
            return;
        }
        out.print(full.substring(printed.length()));
        out.flush();
        printed.setLength(0);
        printed.append(full);
    }

    private static String text(Tokenizer tok, int[] ids) {
        return tok == null ? Arrays.toString(ids) : tok.decode(ids, true);
    }

    private Tokenizer tokenizer(ModelFiles files) {
        Tokenizer tok = findTokenizer(files, tokenizerPath);
        if (tok == null && promptIds == null) {
            throw new SparsaException.UsageException(model + ": no tokenizer.json found; pass --tokenizer FILE or "
                    + "give the prompt as --prompt-ids");
        }
        return tok;
    }

    /**
     * The model's tokenizer: {@code explicit} if given, else the tokenizer.json beside the weights (or beside the
     * .gguf), else the vocabulary a GGUF carries; null when there is none.
     */
    public static Tokenizer findTokenizer(ModelFiles files, Path explicit) {
        Path p = explicit;
        if (p == null) {
            p = files.tokenizerJson();
        }
        if (p == null && files.format().equals("gguf")) {   // a tokenizer.json beside the .gguf
            Path beside = files.location().toAbsolutePath().resolveSibling(ModelFiles.TOKENIZER);
            p = Files.isRegularFile(beside) ? beside : null;
        }
        if (p == null && files.ggufMetadata() != null && files.ggufMetadata().containsKey("tokenizer.ggml.tokens")) {
            return GgufTokenizer.fromMetadata(files.ggufMetadata(), files.location());   // the vocabulary in the GGUF
        }
        return p == null ? null : TokenizerJson.load(p);
    }

    /** EOS ids from config.json, the tokenizer and generation_config.json (Llama 3 lists several). */
    public static int[] stopIds(ModelFiles files, Tokenizer tok) {
        List<Integer> ids = new ArrayList<>();
        ids.add(files.config().eosTokenId());
        ids.add(tok == null ? -1 : tok.eosId());
        Path loc = files.location().toAbsolutePath();
        Path gen = (Files.isDirectory(loc) ? loc : loc.getParent()).resolve("generation_config.json");
        if (Files.isRegularFile(gen)) {
            try {
                JsonNode eos = new ObjectMapper().readTree(gen.toFile()).get("eos_token_id");
                if (eos != null && eos.isArray()) {
                    eos.forEach(e -> ids.add(e.asInt(-1)));
                } else if (eos != null && eos.isIntegralNumber()) {
                    ids.add(eos.asInt());
                }
            } catch (java.io.IOException e) {
                throw SparsaException.FormatException.of(gen, "not valid JSON: " + e.getMessage());
            }
        }
        return ids.stream().mapToInt(Integer::intValue).filter(i -> i >= 0).distinct().toArray();
    }
}
