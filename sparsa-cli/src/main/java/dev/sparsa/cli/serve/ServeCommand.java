package dev.sparsa.cli.serve;

import dev.sparsa.SparsaException.UsageException;
import dev.sparsa.io.HfCache;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.logging.Level;
import java.util.logging.Logger;

/** {@code sparsa serve}: an OpenAI-compatible HTTP server for one model, dense or sparse. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serve a model over HTTP with the OpenAI API: POST /v1/completions and /v1/chat/completions "
                + "(Llama-family decoders; stream: true as server-sent events), POST /v1/embeddings (BERT encoders), "
                + "GET /v1/models, /health and /metrics (Prometheus: requests, tokens/s, queue, active-neuron share "
                + "per layer). Concurrent requests decode together in one batched forward per step (continuous "
                + "batching); more than --max-concurrent wait in a first-come-first-served queue."})
public final class ServeCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "PATH|ID",
            description = "Model: a Hugging Face directory, .safetensors or .gguf (decoder), an .onnx or HF BERT "
                    + "(encoder), or a model id in the local Hugging Face cache (HF_HUB_CACHE, HF_HOME/hub, "
                    + "~/.cache/huggingface/hub).")
    String model;

    @CommandLine.Mixin
    dev.sparsa.cli.SparseOption sparseOption = new dev.sparsa.cli.SparseOption();

    @Option(names = "--host", defaultValue = "127.0.0.1", paramLabel = "ADDR",
            description = "Address to bind (default: ${DEFAULT-VALUE}, loopback only; 0.0.0.0 for every interface).")
    String host;

    @Option(names = "--port", defaultValue = "8080", paramLabel = "N",
            description = "Port (0: any free one, printed at start). Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(names = "--max-concurrent", defaultValue = "8", paramLabel = "N",
            description = "Sequences generated at once (rows of the batched decode step); more requests wait in the "
                    + "queue. 1 serves one request at a time. Default: ${DEFAULT-VALUE}.")
    int maxConcurrent;

    @Option(names = "--max-queue", defaultValue = "256", paramLabel = "N",
            description = "Requests that may wait for a slot; beyond, a 503. Default: ${DEFAULT-VALUE}.")
    int maxQueue;

    @Option(names = "--ctx", paramLabel = "N",
            description = "Positions per sequence, prompt + completion (default: the model's max_position_embeddings,"
                    + " at most 8192).")
    Integer ctx;

    @Option(names = "--threads", paramLabel = "N", description = "Worker threads of the model (default: all "
            + "processors).")
    Integer threads;

    @Option(names = "--tokenizer", paramLabel = "FILE",
            description = "tokenizer.json to use (default: the one beside the model, or the GGUF's vocabulary).")
    Path tokenizer;

    @Option(names = "--chat-template", paramLabel = "FILE",
            description = "Jinja chat template to use (default: chat_template.jinja or tokenizer_config.json's "
                    + "chat_template beside the model, the GGUF's tokenizer.chat_template, else 'role: content' "
                    + "lines).")
    Path chatTemplate;

    @Option(names = "--served-model-name", paramLabel = "NAME",
            description = "Model id clients use (default: the hub id, or the file / folder name).")
    String servedName;

    @Option(names = "--no-batch", negatable = false,
            description = "Decode concurrent sequences one at a time, round robin, instead of in one batched forward "
                    + "(for comparison).")
    boolean noBatch;

    @Option(names = "--max-body", defaultValue = "4194304", paramLabel = "BYTES",
            description = "Largest request body; larger ones get a 413. Default: ${DEFAULT-VALUE}.")
    long maxBody;

    /** Keeps Jetty's INFO lines (version, connector started) out of the way; warnings still show. */
    private static final Logger JETTY = Logger.getLogger("org.eclipse.jetty");

    @Override
    public Integer call() throws Exception {
        SparsaServer.Options o = options(host, port, maxConcurrent, maxQueue, !noBatch, maxBody, threads);
        quietJetty();
        PrintWriter err = spec.commandLine().getErr();
        ServedModel m = ServedModel.open(model, HfCache.hubDir(), sparseOption.sparse,
                sparseOption.calibration, ctx, tokenizer, chatTemplate, servedName);
        SparsaServer server;
        try {
            server = SparsaServer.start(m, o);
        } catch (java.io.IOException e) {
            m.close();
            throw new UsageException("cannot listen on " + host + ":" + port + ": " + e.getMessage());
        } catch (Exception | Error e) {
            m.close();
            throw e;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Thread hook = Thread.ofPlatform().name("sparsa-serve-stop").unstarted(() -> {
            server.close();
            err.println("sparsa serve: stopped");
            err.flush();
            stopped.countDown();
        });
        Runtime.getRuntime().addShutdownHook(hook);
        err.println("sparsa serve: " + describe(m) + " on " + server.url() + "/v1 (Ctrl-C to stop)");
        err.flush();
        stopped.await();
        return 0;
    }

    /** Jetty's INFO lines (version, connector started / stopped) off; its warnings stay (process-wide logging). */
    static void quietJetty() {
        JETTY.setLevel(Level.WARNING);
    }

    /** The options, each checked (one line naming the option). */
    static SparsaServer.Options options(String host, int port, int maxConcurrent, int maxQueue, boolean batch,
                                        long maxBody, Integer threads) {
        if (port < 0 || port > 65535) {
            throw new UsageException("--port must be in [0, 65535], got " + port);
        }
        if (maxConcurrent < 1) {
            throw new UsageException("--max-concurrent must be >= 1, got " + maxConcurrent);
        }
        if (maxQueue < 0) {
            throw new UsageException("--max-queue must be >= 0, got " + maxQueue);
        }
        if (maxBody < 1024) {
            throw new UsageException("--max-body must be >= 1024 bytes, got " + maxBody);
        }
        int n = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        if (n < 1) {
            throw new UsageException("--threads must be >= 1, got " + n);
        }
        return new SparsaServer.Options(host, port, maxConcurrent, maxQueue, batch, maxBody, n);
    }

    static String describe(ServedModel m) {
        return switch (m) {
            case ServedModel.Decoder d -> "'" + d.id() + "' (" + d.model() + "; --sparse " + d.sparse() + ", context "
                    + d.context() + ", chat template " + (d.chat().isFallback() ? "plain fallback" : "the model's")
                    + ")";
            case ServedModel.Encoder e -> "'" + e.id() + "' (BERT encoder, " + e.model().config().numLayers()
                    + " layers, " + e.model().config().hiddenSize() + " dimensions)";
        };
    }
}
