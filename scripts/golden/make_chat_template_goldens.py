#!/usr/bin/env python3
"""Golden renderings of chat templates for `sparsa serve` (ChatTemplate, Jinjava) from Python's jinja2.

Renders each template below the way transformers' apply_chat_template does (jinja2's ImmutableSandboxedEnvironment
with trim_blocks=True, lstrip_blocks=True and the loopcontrols extension; raise_exception and strftime_now as
globals; the messages, add_generation_prompt, bos_token and eos_token as variables) and writes one JSON file:
    [{"name", "template", "bos_token", "eos_token", "add_generation_prompt", "messages",
      "expected" (the rendered text) | "error" (the message raise_exception was given)}]

The templates are written in the style of the chat templates that real checkpoints carry in tokenizer_config.json
(Zephyr / TinyLlama-Chat, ChatML / Qwen2, Llama 3, Llama 2 / Mistral with its role check, Gemma), exercising what
those use: string `+`, `|trim`, `.strip()`, slices `messages[1:]`, `messages[-1]`, `loop.first/last/index0`,
`namespace()`, `set`, `raise_exception`, whitespace control. The committed file was written with jinja2 3.1.2 (Debian python3-jinja2):
    /usr/bin/python3 scripts/golden/make_chat_template_goldens.py \
        --out sparsa-cli/src/test/resources/dev/sparsa/cli/serve/chat_templates.json
"""
import argparse
import json

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

TEMPLATES = {
    "zephyr": (
        "{% for message in messages %}\n"
        "{% if message['role'] == 'user' %}\n"
        "{{ '<|user|>\n' + message['content'] + eos_token }}\n"
        "{% elif message['role'] == 'system' %}\n"
        "{{ '<|system|>\n' + message['content'] + eos_token }}\n"
        "{% elif message['role'] == 'assistant' %}\n"
        "{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n"
        "{% endif %}\n"
        "{% if loop.last and add_generation_prompt %}\n"
        "{{ '<|assistant|>' }}\n"
        "{% endif %}\n"
        "{% endfor %}"
    ),
    "chatml": (
        "{%- if messages[0]['role'] == 'system' %}\n"
        "    {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n"
        "{%- else %}\n"
        "    {{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}\n"
        "{%- endif %}\n"
        "{%- for message in messages %}\n"
        "    {%- if message.role == 'system' and loop.first %}\n"
        "        {%- continue %}\n"
        "    {%- endif %}\n"
        "    {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}\n"
        "{%- endfor %}\n"
        "{%- if add_generation_prompt %}\n"
        "    {{- '<|im_start|>assistant\\n' }}\n"
        "{%- endif %}\n"
    ),
    "llama3": (
        "{{- bos_token }}\n"
        "{%- set ns = namespace(system='') %}\n"
        "{%- if messages[0]['role'] == 'system' %}\n"
        "    {%- set ns.system = messages[0]['content'] | trim %}\n"
        "    {%- set messages = messages[1:] %}\n"
        "{%- endif %}\n"
        "{%- if ns.system %}\n"
        "    {{- '<|start_header_id|>system<|end_header_id|>\\n\\n' + ns.system + '<|eot_id|>' }}\n"
        "{%- endif %}\n"
        "{%- for message in messages %}\n"
        "    {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim"
        " + '<|eot_id|>' }}\n"
        "{%- endfor %}\n"
        "{%- if add_generation_prompt %}\n"
        "    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}\n"
        "{%- endif %}\n"
    ),
    "llama2": (
        "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
        "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
        "{% set system_message = false %}{% endif %}"
        "{% for message in loop_messages %}"
        "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
        "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
        "{% if loop.index0 == 0 and system_message != false %}"
        "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
        "{% else %}{% set content = message['content'] %}{% endif %}"
        "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
        "{% elif message['role'] == 'assistant' %}{{ ' ' + content.strip() + ' ' + eos_token }}{% endif %}"
        "{% endfor %}"
    ),
    "gemma": (
        "{{ bos_token }}{% if messages[0]['role'] == 'system' %}"
        "{{ raise_exception('System role not supported') }}{% endif %}"
        "{% for message in messages %}"
        "{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}"
        "{% endif %}"
        "{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}"
        "{% endfor %}"
        "{% if add_generation_prompt and messages[-1]['role'] != 'assistant' %}{{'<start_of_turn>model\n'}}"
        "{% endif %}"
    ),
}

USER_ONLY = [{"role": "user", "content": "Hello, how are you?"}]
CONVERSATION = [
    {"role": "system", "content": "You are a pirate. "},
    {"role": "user", "content": "  Hello, how are you?"},
    {"role": "assistant", "content": "Arr, fine! "},
    {"role": "user", "content": "Say {{ 7 * 7 }} and {% raw %}x{% endraw %} literally: é 中文 \"quotes\" \\ back"},
]
NO_SYSTEM = CONVERSATION[1:]
BAD_ORDER = [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]

CASES = [
    ("zephyr", USER_ONLY, True), ("zephyr", CONVERSATION, True), ("zephyr", CONVERSATION, False),
    ("chatml", USER_ONLY, True), ("chatml", CONVERSATION, True), ("chatml", NO_SYSTEM, False),
    ("llama3", USER_ONLY, True), ("llama3", CONVERSATION, True), ("llama3", NO_SYSTEM, True),
    ("llama2", USER_ONLY, True), ("llama2", CONVERSATION, True), ("llama2", BAD_ORDER, True),
    ("gemma", NO_SYSTEM, True), ("gemma", CONVERSATION, True),
]
TOKENS = {"zephyr": ("<s>", "</s>"), "chatml": ("", "<|im_end|>"), "llama3": ("<|begin_of_text|>", "<|eot_id|>"),
          "llama2": ("<s>", "</s>"), "gemma": ("<bos>", "<eos>")}


class TemplateError(Exception):
    pass


def raise_exception(message):
    raise TemplateError(message)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.globals["raise_exception"] = raise_exception
    out = []
    for name, messages, gen in CASES:
        bos, eos = TOKENS[name]
        case = {"name": name, "template": TEMPLATES[name], "bos_token": bos, "eos_token": eos,
                "add_generation_prompt": gen, "messages": messages}
        try:
            case["expected"] = env.from_string(TEMPLATES[name]).render(
                messages=messages, add_generation_prompt=gen, bos_token=bos, eos_token=eos)
        except TemplateError as e:
            case["error"] = str(e)
        out.append(case)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump({"jinja2": jinja2.__version__, "cases": out}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {len(out)} cases to {args.out}")


if __name__ == "__main__":
    main()
