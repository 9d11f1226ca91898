"""Diffusion-HPC with the user's Stable Diffusion: tiny randomly initialised diffusers pipelines saved by the test
(`conftest.tiny_sd_pipeline`: text-to-image and SD-2-depth) run sampling, the seed's correction, the synthetic set and
`generate` through `dhpc.stable_diffusion`; a wrong directory is one line; the seed's random latent inside the mask."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from handflow.compute import Compute
from handflow.errors import InputError
from handflow.papers.dhpc.generate import CorrectConfig, correct_set, generate, sample_set
from handflow.papers.dhpc.generators import PipelineConfig, SampleConfig, StableDiffusion, load_generator
from handflow.papers.dhpc.samples import read

CPU = Compute()
SIZE = 16  # the data's image size: the pipelines draw at 32 px (16 latents x 2) and return 16 px


def _sd(pipelines, root) -> PipelineConfig:
    return PipelineConfig(str(pipelines["t2i"]), str(pipelines["depth"]), "deformed, bad anatomy")


class _Everywhere(torch.nn.Module):
    """A stand-in mask network: the person covers the whole image."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.full((), 100.0))

    def forward(self, images):
        return torch.zeros_like(images[:, :1]) + self.w


def _nets(pipelines, tmp_path) -> dict:
    from handflow.papers.dhpc.networks import ConvConfig, HMRNet, PosePrior, PriorConfig

    torch.manual_seed(0)
    sd = _sd(pipelines, tmp_path)
    return {
        "t2i": load_generator("t2i", None, sd, tmp_path, SIZE, CPU),
        "depth": load_generator("depth", None, sd, tmp_path, SIZE, CPU),
        "mask": _Everywhere(),
        "hmr": HMRNet(ConvConfig(SIZE, (8, 16), 16)),
        "prior": PosePrior(PriorConfig(4, 16)),
    }


def test_a_local_pipeline_samples_and_corrects_into_the_samples_files(tiny_sd_pipelines, tmp_path, dhpc_body):
    """Sampling and the seed's correction through the user's pipelines: images at the data's size, any English prompt
    (CLIP's tokenizer, not the embedded vocabulary), the pipelines' digests recorded in the files."""
    nets = _nets(tiny_sd_pipelines, tmp_path)
    sample = SampleConfig(3, 3.0, 4)
    samples = tmp_path / "text_only.h5"
    stats = sample_set(nets["t2i"], ["running", "diving"], 3, 2, sample, 0, "prompts", samples, {"scale": "test"})
    arrays, prompts, attrs = read(samples, "samples", ("seed",))
    assert stats["n_images"] == 6 and arrays["image"].shape == (6, SIZE, SIZE, 3) and arrays["seed"].tolist() == [0, 0, 0, 1, 1, 1]
    assert attrs["generator"]["pipeline"] == "StableDiffusionPipeline" and len(attrs["generator"]["sha256"]) == 64
    assert arrays["image"].std() > 0  # drawn, not blank
    corrected = tmp_path / "corrected.h5"
    cfg = CorrectConfig(0.7, True, 0.0, None)
    done = correct_set(samples, nets, cfg, sample, 0, "numpy", dhpc_body, corrected, {"scale": "test"})
    fixed, fixed_prompts, fixed_attrs = read(corrected, "samples", ("seed", "source", "depth", "kp2d"))
    assert done["n_kept"] == 6 and fixed["image"].shape == (6, SIZE, SIZE, 3) and fixed_prompts == prompts
    assert fixed_attrs["generator"]["depth"]["pipeline"] == "StableDiffusionDepth2ImgPipeline"
    assert fixed_attrs["generator"]["text_only"] == attrs["generator"]
    assert not np.array_equal(fixed["image"], arrays["image"])


def test_generate_writes_the_seeds_api_folder_with_a_local_pipeline(tiny_sd_pipelines, tmp_path, dhpc_body):
    """The seed's api.py on the user's pipelines: a prompt outside the embedded vocabulary is fine (CLIP reads it)."""
    nets = _nets(tiny_sd_pipelines, tmp_path)
    out = tmp_path / "api"
    cfg = CorrectConfig(0.7, True, 0.0, None)
    stats = generate("a photo of a person doing yoga", 2, nets, SampleConfig(2, 3.0, 4), cfg, 0, "numpy", dhpc_body, out, True, {})
    scores = json.loads((out / "scores.json").read_text())
    assert stats["n_corrected"] == 2 and sorted(p.name for p in (out / "corrected").iterdir()) == ["000.png", "001.png"]
    assert scores["generator"]["depth"]["sha256"] == nets["depth"].digest and len(list((out / "meshes").iterdir())) == 2


def test_the_random_latent_inside_the_mask_replaces_the_image_there(tiny_sd_pipelines):
    """The seed's use_random_for_d2i on SD's latents: with the whole image in the region the start does not depend on
    the image (two different images give the same result from the same noise); outside it, it does."""
    gen = StableDiffusion(tiny_sd_pipelines["depth"], "depth", SIZE, "deformed, bad anatomy", CPU)
    a, b = torch.rand(2, 3, SIZE, SIZE) * 2 - 1, torch.rand(2, 3, SIZE, SIZE) * 2 - 1
    depth = torch.linspace(-1, 1, SIZE * SIZE).reshape(1, 1, SIZE, SIZE).repeat(2, 1, 1, 1)
    cfg, prompts = SampleConfig(4, 3.0, 4), ["a person running"] * 2

    def run(images, region):
        return gen.regenerate(images, region, depth, prompts, "test", 0.7, True, cfg, torch.Generator().manual_seed(0))

    everywhere, nowhere = torch.ones(2, SIZE, SIZE, dtype=torch.bool), torch.zeros(2, SIZE, SIZE, dtype=torch.bool)
    assert torch.allclose(run(a, everywhere), run(b, everywhere), atol=1e-5)
    assert not torch.allclose(run(a, nowhere), run(b, nowhere), atol=1e-3)
    assert gen.pipe.region is None  # nothing left over for the next call
    with pytest.raises(Exception, match="constant"):
        gen.regenerate(a, everywhere, torch.zeros(2, 1, SIZE, SIZE), prompts, "test", 0.7, True, cfg, torch.Generator())


def test_a_wrong_pipeline_directory_is_one_line(tiny_sd_pipelines, tmp_path):
    sd = PipelineConfig("nowhere", None, "")
    with pytest.raises(InputError, match=r"model_index.json.*not a diffusers pipeline directory"):
        load_generator("t2i", None, sd, tmp_path, SIZE, CPU)
    swapped = PipelineConfig(str(tiny_sd_pipelines["depth"]), str(tiny_sd_pipelines["t2i"]), "")
    with pytest.raises(InputError, match=r"_class_name.*needs a StableDiffusionPipeline"):
        load_generator("t2i", None, swapped, tmp_path, SIZE, CPU)
    broken = tmp_path / "broken"
    shutil.copytree(tiny_sd_pipelines["t2i"], broken)
    shutil.rmtree(broken / "unet")
    with pytest.raises(InputError, match="cannot load the StableDiffusionPipeline"):
        load_generator("t2i", None, PipelineConfig(str(broken), None, ""), tmp_path, SIZE, CPU)
