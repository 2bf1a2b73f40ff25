#!/usr/bin/env python3
"""Golden tokenizer.json files for BpeTrainerGoldenTest, trained by Hugging Face tokenizers itself.

    python3 make_bpe_golden.py      # needs the `tokenizers` package (written with 0.23.2)

Trains HF's BpeTrainer with the byte-level setup of `sparsa tokenizer train` (ByteLevel pre-tokenizer with
add_prefix_space=False and the GPT-2 regex, the 256 byte symbols as initial alphabet, ByteLevel decoder and
post-processor) on bpe-train.txt, one non-blank line per sequence (as Sparsa's Corpus reads a text file: split on
'\n', a final '\r' dropped, blank lines dropped), and writes beside this script:
  bpe-golden-v400.json       vocab_size 400, min_frequency 2, special tokens [<|endoftext|>]
  bpe-golden-exhaust.json    vocab_size 5000, min_frequency 1, special tokens [<|endoftext|>, <|pad|>]: merges
                             until no pair is left, including merges that rebuild an existing token
Rerun only when the trainer's expectations change.
"""
import os

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

HERE = os.path.dirname(os.path.abspath(__file__))


def lines():
    with open(os.path.join(HERE, "bpe-train.txt"), encoding="utf-8") as f:
        text = f.read()
    if text.startswith("\ufeff"):
        text = text[1:]
    out = []
    for line in text.split("\n"):
        line = line[:-1] if line.endswith("\r") else line
        if line.strip(" \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f"):  # Java's isBlank on this text
            out.append(line)
    return out


def train(name, vocab_size, min_frequency, specials):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(lines(), trainer=trainer)
    tok.save(os.path.join(HERE, name), pretty=False)
    print(name, tok.get_vocab_size())


train("bpe-golden-v400.json", 400, 2, ["<|endoftext|>"])
train("bpe-golden-exhaust.json", 5000, 1, ["<|endoftext|>", "<|pad|>"])
