"""Prompts into token ids: a word vocabulary from the seed's templates and the action phrases (or MiniLM's WordPieces).

Stable Diffusion reads prompts through CLIP's BPE tokenizer (77 tokens, longer prompts cut
silently). The embedded text model learns its own token embeddings, so its vocabulary is the
words its captions can hold: a prompt with another word, an empty prompt or one longer than
`max_tokens` is refused with one line naming where it came from, not cut or guessed. The frozen
MiniLM encoder (`text_encoder: minilm`) reads any English prompt through its own tokenizer.
"""

from __future__ import annotations

import re

import torch

from handflow import pretrained_text
from handflow.errors import InputError
from handflow.papers.dhpc.poses import ACTIONS, TEMPLATES

PAD = pretrained_text.PAD  # 0, also the unconditional prompt: all padding (classifier-free guidance's null text), for both encoders
_WORD = re.compile(r"[a-z]+")


def vocabulary() -> tuple[str, ...]:
    words = {w for t in TEMPLATES for w in _WORD.findall(t)} | {w for a in ACTIONS.values() for w in _WORD.findall(a.phrase)}
    return ("<pad>", *sorted(words))


def tokenize(prompts: list[str], max_tokens: int, source: str, encoder: str = "learned") -> torch.Tensor:
    """(B, max_tokens) int64 ids for the text `encoder`, padded with PAD; `source` names the prompts' origin in an error."""
    if encoder == "minilm":
        return pretrained_text.tokenize(prompts, max_tokens, source)
    index = {w: i for i, w in enumerate(vocabulary())}
    out = torch.full((len(prompts), max_tokens), PAD, dtype=torch.int64)
    for i, prompt in enumerate(prompts):
        if not isinstance(prompt, str) or not prompt.strip():
            raise InputError(source, f"prompt {i}", "empty prompt")
        words = prompt.lower().split()
        if not all(_WORD.fullmatch(w) for w in words):
            raise InputError(source, f"prompt {i}", f"{prompt[:60]!r} holds something other than words")
        if len(words) > max_tokens:
            raise InputError(source, f"prompt {i}", f"{len(words)} words, the text model reads at most {max_tokens}")
        unknown = [w for w in words if w not in index]
        if unknown:
            raise InputError(source, f"prompt {i}", f"{unknown[0]!r} is not in the text model's vocabulary")
        out[i, : len(words)] = torch.tensor([index[w] for w in words])
    return out
