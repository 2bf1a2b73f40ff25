package dev.sparsa.cli.serve;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;

import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A model's chat template, rendered as transformers' {@code apply_chat_template} renders it: Jinja with
 * {@code trim_blocks} and {@code lstrip_blocks}, the variables {@code messages} (role, content), {@code
 * add_generation_prompt}, {@code bos_token} and {@code eos_token}, and the globals {@code raise_exception(msg)} and
 * {@code strftime_now(fmt)}. Jinjava is the Jinja engine, in its most Jinja2-compatible mode; message text is data,
 * never interpreted as template. Without a template from the model, {@link #fallback()}: one {@code role: content}
 * line per message and {@code assistant:} to answer after.
 *
 * <p>A template's output already holds the BOS it wants ({@code bos_token}), so its text is tokenized without
 * adding special tokens, as transformers does; the fallback's text gets them ({@link #addsSpecialTokens()}).
 */
final class ChatTemplate {
    /** One chat message (role and its text content). */
    record Message(String role, String content) {
    }

    /** The template for models that carry none. */
    static final String FALLBACK = "{% for message in messages %}{{ message['role'] + ': ' + message['content'] }}\n"
            + "{% endfor %}{% if add_generation_prompt %}{{ 'assistant:' }}{% endif %}";

    /** Thrown by {@code raise_exception} in a template, and for templates that fail to render. */
    static final class TemplateException extends RuntimeException {
        TemplateException(String message) {
            super(message);
        }
    }

    /**
     * Jinjava's Jinja2-compatible behaviours: whitespace control ({@code -}) on expressions too, parsed strictly,
     * Python's operator precedence, backslash escapes inside quotes only, loops over a dict's keys, Python-style
     * str() of objects, one trailing newline dropped. (Jinjava's "whitespace required within tokens" is left off: it
     * stops {@code {%-} being read as a tag.)
     */
    private static final LegacyOverrides JINJA2 = LegacyOverrides.newBuilder()
            .withUseTrimmingForNotesAndExpressions(true)
            .withParseWhitespaceControlStrictly(true)
            .withUseNaturalOperatorPrecedence(true)
            .withHandleBackslashInQuotesOnly(true)
            .withEvaluateMapKeys(true)
            .withIterateOverMapKeys(true)
            .withUsePyishObjectMapper(true)
            .withAllowAdjacentTextNodes(true)
            .withKeepNullableLoopValues(true)
            .withDefaultKeepTrailingNewlineBehavior(true)
            .build();

    private final String source;
    private final String bos;
    private final String eos;
    private final boolean fallback;
    private final Jinjava jinjava;

    private ChatTemplate(String source, String bos, String eos, boolean fallback) {
        this.source = source;
        this.bos = bos == null ? "" : bos;
        this.eos = eos == null ? "" : eos;
        this.fallback = fallback;
        JinjavaConfig cfg = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withLegacyOverrides(JINJA2)
                .withNestedInterpretationEnabled(false)             // "{{ x }}" inside a message stays text
                .withFailOnUnknownTokens(false)                     // undefined is falsy and renders empty
                .withMaxOutputSize(16L << 20)
                .build();
        this.jinjava = new Jinjava(cfg);
        jinjava.registerFunction(new ELFunctionDefinition("", "raise_exception", ChatTemplate.class,
                "raiseException", String.class));
        jinjava.registerFunction(new ELFunctionDefinition("", "strftime_now", ChatTemplate.class, "strftimeNow",
                String.class));
    }

    /** The model's template {@code source} with its BOS and EOS token strings (null: empty). */
    static ChatTemplate of(String source, String bos, String eos) {
        return new ChatTemplate(source, bos, eos, false);
    }

    /** The plain template for models without one. */
    static ChatTemplate fallback() {
        return new ChatTemplate(FALLBACK, "", "", true);
    }

    boolean isFallback() {
        return fallback;
    }

    /** Whether the rendered text is tokenized with the tokenizer's special tokens (BOS) added. */
    boolean addsSpecialTokens() {
        return fallback;
    }

    /** The prompt text of {@code messages}; a {@link TemplateException} with the template's own message on failure. */
    String render(List<Message> messages, boolean addGenerationPrompt) {
        List<Map<String, Object>> msgs = new ArrayList<>();
        for (Message m : messages) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("role", m.role());
            o.put("content", m.content());
            msgs.add(o);
        }
        Map<String, Object> vars = new HashMap<>();
        vars.put("messages", msgs);
        vars.put("add_generation_prompt", addGenerationPrompt);
        vars.put("bos_token", bos);
        vars.put("eos_token", eos);
        RenderResult r = jinjava.renderForResult(source, vars);
        for (TemplateError e : r.getErrors()) {
            if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new TemplateException(message(e));
            }
        }
        return r.getOutput();
    }

    /** raise_exception's own text when it was that, else Jinjava's message. */
    private static String message(TemplateError e) {
        for (Throwable t = e.getException(); t != null; t = t.getCause()) {
            if (t instanceof Raised r) {
                return r.text;
            }
        }
        String m = e.getMessage();
        int at = m == null ? -1 : m.indexOf(RAISED);
        if (at >= 0) {
            return m.substring(at + RAISED.length()).strip();
        }
        return "chat template failed: " + (m == null ? e.getReason() : m.replace('\n', ' '));
    }

    private static final String RAISED = "raise_exception:";

    /** What {@code raise_exception} throws inside Jinjava (which may keep only its message). */
    private static final class Raised extends RuntimeException {
        final String text;

        Raised(String text) {
            super(RAISED + " " + text);
            this.text = text;
        }
    }

    /** {@code raise_exception(message)}: the template refuses the conversation. */
    public static String raiseException(String message) {
        throw new Raised(message);
    }

    /** {@code strftime_now(format)}: the local time in a Python strftime format (the common directives). */
    public static String strftimeNow(String format) {
        ZonedDateTime now = ZonedDateTime.now();
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 == format.length()) {
                sb.append(c);
                continue;
            }
            char d = format.charAt(++i);
            String p = switch (d) {
                case 'd' -> "dd";
                case 'm' -> "MM";
                case 'Y' -> "yyyy";
                case 'y' -> "yy";
                case 'B' -> "MMMM";
                case 'b' -> "MMM";
                case 'A' -> "EEEE";
                case 'a' -> "EEE";
                case 'H' -> "HH";
                case 'M' -> "mm";
                case 'S' -> "ss";
                default -> null;
            };
            if (p == null) {
                sb.append(d == '%' ? "%" : "%" + d);
            } else {
                sb.append(now.format(DateTimeFormatter.ofPattern(p, java.util.Locale.ENGLISH)));
            }
        }
        return sb.toString();
    }
}
