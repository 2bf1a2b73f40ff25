package dev.sparsa.cli.serve;

import dev.sparsa.model.ActivationTap;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.IntSupplier;

/**
 * What {@code GET /metrics} shows, in the Prometheus text format (Prometheus' own Java client, one registry per
 * server): requests by endpoint and status, prompt and generated tokens, generated tokens per second over the last
 * {@link #WINDOW_SECONDS} s, running and queued sequences, decode steps and their rows (mean batch = rows / steps),
 * client disconnects, and per FFN layer of the served model the share of neurons that were active (act(gate) ≠ 0)
 * over every token it has run, with the counts behind it.
 */
final class Metrics {
    static final int WINDOW_SECONDS = 10;

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter requests;
    private final Counter promptTokens;
    private final Counter completionTokens;
    private final Counter disconnects;
    private final Counter decodeSteps;
    private final Counter decodeRows;
    private final long[] perSecond = new long[WINDOW_SECONDS + 1];
    private final long[] secondOf = new long[WINDOW_SECONDS + 1];
    private final AtomicLongArray active;
    private final AtomicLongArray neurons;
    private final int width;

    /** For a model of {@code layers} FFN layers of {@code width} neurons (0, 0 for an encoder without the tap). */
    Metrics(String model, String sparse, int layers, int width, IntSupplier running, IntSupplier waiting) {
        this.width = width;
        this.active = new AtomicLongArray(layers);
        this.neurons = new AtomicLongArray(layers);
        requests = Counter.builder().name("sparsa_http_requests_total").help("HTTP requests by endpoint and status")
                .labelNames("endpoint", "status").register(registry);
        promptTokens = Counter.builder().name("sparsa_prompt_tokens_total").help("Prompt tokens prefilled")
                .register(registry);
        completionTokens = Counter.builder().name("sparsa_generated_tokens_total").help("Tokens generated")
                .register(registry);
        disconnects = Counter.builder().name("sparsa_client_disconnects_total")
                .help("Requests whose client went away before the end").register(registry);
        decodeSteps = Counter.builder().name("sparsa_decode_steps_total")
                .help("Decode forwards (one per step of the decode loop)").register(registry);
        decodeRows = Counter.builder().name("sparsa_decode_rows_total")
                .help("Sequences advanced by decode forwards (rows / steps = mean batch)").register(registry);
        GaugeWithCallback.builder().name("sparsa_tokens_per_second")
                .help("Tokens generated per second over the last " + WINDOW_SECONDS + " s")
                .callback(cb -> cb.call(tokensPerSecond(System.currentTimeMillis() / 1000))).register(registry);
        GaugeWithCallback.builder().name("sparsa_requests_running").help("Sequences in the decode loop")
                .callback(cb -> cb.call(running.getAsInt())).register(registry);
        GaugeWithCallback.builder().name("sparsa_queue_length").help("Requests waiting for a slot")
                .callback(cb -> cb.call(waiting.getAsInt())).register(registry);
        GaugeWithCallback.builder().name("sparsa_served_model").help("The served model and sparse mode")
                .labelNames("model", "sparse").callback(cb -> cb.call(1, model, sparse)).register(registry);
        if (layers > 0) {
            GaugeWithCallback.builder().name("sparsa_ffn_active_fraction")
                    .help("Share of FFN neurons active (act(gate) != 0) per layer, over every token run")
                    .labelNames("layer").callback(cb -> {
                        for (int l = 0; l < layers; l++) {
                            long n = neurons.get(l);
                            cb.call(n == 0 ? 0 : (double) active.get(l) / n, Integer.toString(l));
                        }
                    }).register(registry);
            CounterWithCallback.builder().name("sparsa_ffn_active_neurons_total")
                    .help("Active FFN neurons summed over tokens, per layer").labelNames("layer").callback(cb -> {
                        for (int l = 0; l < layers; l++) {
                            cb.call(active.get(l), Integer.toString(l));
                        }
                    }).register(registry);
            CounterWithCallback.builder().name("sparsa_ffn_neurons_total")
                    .help("FFN neurons summed over tokens, per layer").labelNames("layer").callback(cb -> {
                        for (int l = 0; l < layers; l++) {
                            cb.call(neurons.get(l), Integer.toString(l));
                        }
                    }).register(registry);
        }
    }

    void request(String endpoint, int status) {
        requests.labelValues(endpoint, Integer.toString(status)).inc();
    }

    void prompt(int tokens) {
        promptTokens.inc(tokens);
    }

    void generated(int tokens) {
        completionTokens.inc(tokens);
        long now = System.currentTimeMillis() / 1000;
        synchronized (perSecond) {
            int i = (int) (now % perSecond.length);
            if (secondOf[i] != now) {
                secondOf[i] = now;
                perSecond[i] = 0;
            }
            perSecond[i] += tokens;
        }
    }

    void decodeStep(int rows) {
        decodeSteps.inc();
        decodeRows.inc(rows);
    }

    void disconnect() {
        disconnects.inc();
    }

    /** Tokens generated in the {@link #WINDOW_SECONDS} whole seconds before {@code now}, per second. */
    double tokensPerSecond(long now) {
        long sum = 0;
        synchronized (perSecond) {
            for (int i = 0; i < perSecond.length; i++) {
                if (secondOf[i] < now && secondOf[i] >= now - WINDOW_SECONDS) {
                    sum += perSecond[i];
                }
            }
        }
        return (double) sum / WINDOW_SECONDS;
    }

    /** The tap the decode loop runs every forward with: counts active neurons per layer. */
    ActivationTap tap() {
        return (layer, position, x, xOff, gate, act, h, off) -> {
            int n = 0;
            for (int i = off; i < off + width; i++) {
                if (act[i] != 0f) {
                    n++;
                }
            }
            active.addAndGet(layer, n);
            neurons.addAndGet(layer, width);
        };
    }

    /** Active / all neurons of layer ℓ so far (0 before any token). */
    double activeFraction(int layer) {
        long n = neurons.get(layer);
        return n == 0 ? 0 : (double) active.get(layer) / n;
    }

    String contentType() {
        return PrometheusTextFormatWriter.CONTENT_TYPE;
    }

    /** The exposition text. */
    byte[] scrape() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            PrometheusTextFormatWriter.create().write(out, registry.scrape());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
