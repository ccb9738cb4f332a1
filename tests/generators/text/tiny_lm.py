"""Build a tiny GPT-2 with a BPE tokenizer trained offline, saved to disk (loaded back by the real code)."""

from __future__ import annotations

from pathlib import Path

from tests.support import require_module

CORPUS = [
    "The council voted seven to two on Tuesday to rebuild the bridge.",
    "Heavy rain flooded Carver Street and closed the market for a day.",
    "Stocks rose after the central bank held interest rates steady.",
    "A magnitude 6.1 earthquake struck off the coast early on Monday.",
    "The home team won the final three to one in front of a full stadium.",
    "Forecasters expect sunshine tomorrow with a high of twenty degrees.",
] * 4


def build_tiny_lm(folder: Path) -> Path:
    torch = require_module("torch")
    transformers = require_module("transformers")
    tokenizers = require_module("tokenizers")

    bpe = tokenizers.Tokenizer(tokenizers.models.BPE(unk_token=None))
    bpe.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = tokenizers.decoders.ByteLevel()
    trainer = tokenizers.trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet(),
    )
    bpe.train_from_iterator(CORPUS, trainer=trainer)
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token="<|endoftext|>", bos_token="<|endoftext|>", unk_token="<|endoftext|>"
    )
    tokenizer.save_pretrained(folder)

    torch.manual_seed(0)
    config = transformers.GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=128,
        n_embd=32,
        n_layer=2,
        n_head=2,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    model = transformers.GPT2LMHeadModel(config)
    model.save_pretrained(folder, safe_serialization=True)
    return folder
