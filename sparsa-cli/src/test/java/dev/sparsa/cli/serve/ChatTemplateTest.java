package dev.sparsa.cli.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Jinjava renders chat templates as Python's jinja2 does for transformers: golden renderings by
 * scripts/golden/make_chat_template_goldens.py (Zephyr, ChatML, Llama 3, Llama 2 with its role check, Gemma).
 */
class ChatTemplateTest {

    static JsonNode goldens() throws Exception {
        try (InputStream in = ChatTemplateTest.class.getResourceAsStream("chat_templates.json")) {
            return new ObjectMapper().readTree(in);
        }
    }

    static List<ChatTemplate.Message> messages(JsonNode ms) {
        List<ChatTemplate.Message> out = new ArrayList<>();
        for (JsonNode m : ms) {
            out.add(new ChatTemplate.Message(m.get("role").asText(), m.get("content").asText()));
        }
        return out;
    }

    @Test
    void everyGoldenRendersAsJinja2RendersIt() throws Exception {
        JsonNode cases = goldens().get("cases");
        assertThat(cases).hasSizeGreaterThan(10);
        for (JsonNode c : cases) {
            ChatTemplate t = ChatTemplate.of(c.get("template").asText(), c.get("bos_token").asText(),
                    c.get("eos_token").asText());
            List<ChatTemplate.Message> msgs = messages(c.get("messages"));
            boolean gen = c.get("add_generation_prompt").asBoolean();
            String what = c.get("name").asText() + " " + msgs.size() + " messages, generation prompt " + gen;
            if (c.has("error")) {
                assertThatThrownBy(() -> t.render(msgs, gen)).as(what)
                        .isInstanceOf(ChatTemplate.TemplateException.class).hasMessage(c.get("error").asText());
            } else {
                assertThat(t.render(msgs, gen)).as(what).isEqualTo(c.get("expected").asText());
            }
            assertThat(t.addsSpecialTokens()).isFalse();
        }
    }

    @Test
    void fallbackIsOneLinePerMessageThenTheAssistantTurn() {
        ChatTemplate f = ChatTemplate.fallback();
        assertThat(f.isFallback()).isTrue();
        assertThat(f.addsSpecialTokens()).isTrue();
        assertThat(f.render(List.of(new ChatTemplate.Message("system", "Be brief."),
                new ChatTemplate.Message("user", "Hi {{ 1 + 1 }}")), true))
                .isEqualTo("system: Be brief.\nuser: Hi {{ 1 + 1 }}\nassistant:");
    }

    @Test
    void brokenTemplatesFailWithAMessageNotAStackTrace() {
        ChatTemplate t = ChatTemplate.of("{% for m in messages %}{{ m.content ", "", "");
        assertThatThrownBy(() -> t.render(List.of(new ChatTemplate.Message("user", "x")), true))
                .isInstanceOf(ChatTemplate.TemplateException.class).hasMessageStartingWith("chat template failed: ")
                .message().doesNotContain("\n");
        assertThat(ChatTemplate.strftimeNow("%d %B %Y")).matches("\\d\\d [A-Z][a-z]+ \\d{4}");
        assertThat(ChatTemplate.of("{{ strftime_now('%Y') }}", "", "").render(List.of(), false)).matches("\\d{4}");
    }
}
