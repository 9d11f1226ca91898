"""Shared fixtures: the prepared open hand model, a smoke-scale embedded dataset, project copies,
and the smoke pipeline built once by snakemake and once by `dvc repro`."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from filelock import FileLock

from handflow.datasets.interhand.generator import EmbeddedConfig, Generator
from handflow.datasets.interhand.preprocess import preprocess_split
from handflow.geometry.rotations import axis_angle_to_matrix_np
from handflow.hand.model import HandModel, create_pair
from handflow.hand.prepare import prepare
from handflow.papers.digit.annotations import write_annotations
from handflow.papers.digit.images import pack_split_images
from handflow.papers.digit.segmentation import render_split
from handflow.papers.interhandgen.dataset import write_pairs
from handflow.papers.interhandgen.representation import MIDDLE_MCP, HandParams, Normalizer, canonical_pair, mirror_hand
from handflow.params import load_params

REPO = Path(__file__).resolve().parents[1]
# Under `make test` two pytest-xdist workers share the machine's cores with the pipeline builds' stages (one torch
# thread each, see copy_project): one torch thread per worker too, or OpenMP threads spin against each other.
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)

# What a project needs to run its pipeline (everything tracked by git that the rules touch).
PROJECT_ITEMS = (
    "Snakefile",
    "workflow",
    "profiles",  # the local one applies to every snakemake run in the copy, as in the repository
    "params",
    "src",
    "dvc.yaml",
    "environment.yml",  # every rule's conda environment (read for Snakemake's metadata even without conda)
    ".dvc/config",
    ".dvc/.gitignore",
    ".dvcignore",
    ".gitignore",
)


def copy_project(dest: Path, scale: str = "smoke", threads: int = 1) -> Path:
    """A copy of the project's pipeline files at `dest`, set to `scale` and `global.threads`.

    One torch thread per stage by default: a smoke stage is mostly one process importing torch, diffusers and
    MLflow, so stages side by side (SNAKEMAKE and CORES allow it) use the 2 cores of a CI machine where two
    threads of one stage cannot.
    """
    dest.mkdir(parents=True, exist_ok=True)
    for item in PROJECT_ITEMS:
        src = REPO / item
        target = dest / item
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, target, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(src, target)
    glob = dest / "params" / "global.yaml"
    text = glob.read_text()
    current = load_params(REPO).scale
    text = text.replace(f"scale: {current}", f"scale: {scale}", 1)
    glob.write_text(re.sub(r"(?m)^threads: \d+", f"threads: {threads}", text, count=1))
    values = load_params(dest)
    assert (values.scale, values.get("global.threads")) == (scale, threads)
    return dest


# Pipeline subprocesses: this interpreter's venv first on PATH (rules call `python -m handflow`),
# and the project's own MLflow store unless a test says otherwise.
PIPELINE_ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "MLFLOW_TRACKING_URI": ""}
# `gpu` is a resource every GPU rule takes one of; the local profile has one, which serialises those rules. The
# tests run on CPU with one thread per stage (copy_project), so as many of them as CORES allows may run side by side.
# The profile's `max-jobs-per-timespan: 100/10s` makes each run wait up to 10 s for its last timer at exit; the suite's
# many short runs take the default (its smoke build is short enough that the driver's rounds cost little either way).
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--resources=gpu=2", "--max-jobs-per-timespan=100/1s"]  # one value each: targets may follow
# Jobs side by side in the pipeline builds: the CI machine's 2 cores. Three (a smoke stage's logs/bench/*.tsv show
# cpu_time at 83 % of its wall time) built the smoke pipeline no faster: 411 s against 415 s (2026-12-05).
CORES = ["--cores", "2"]
DVC_REPRO_TARGETS = ("data_report",)  # what build B runs (and what it depends on): the data stages
BUILD_LOG = "snakemake_build.log"  # beside A and B: the output of A's snakemake run
PARAMS_READ = "logs/params_read.jsonl"  # in build A: what each command read (HANDFLOW_PARAMS_READ, see handflow.stage)


def run_ok(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run a command; on failure the assertion shows the tail of its output."""
    proc = subprocess.run(cmd, cwd=cwd, env=env or PIPELINE_ENV, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout + proc.stderr


def digests(root: Path, *dirs: str) -> dict[str, str]:
    """sha256 of every file under `dirs` (data/, models/, results/ by default), by relative path."""
    files = [p for d in dirs or ("data", "models", "results") for p in (root / d).rglob("*") if p.is_file()]
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files if p.name != ".snakemake_timestamp"}


def git_commit_all(root: Path) -> None:
    commit = ["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "smoke"]
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"], commit):
        run_ok(cmd, root)


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> Iterator[None]:
    """How `make test` (two pytest-xdist workers, `--dist loadgroup --no-loadscope-reorder`) shares the smoke build
    and the cores: xdist hands out the groups in the order below (its default would put the largest groups first, and
    the second worker would wait for the build with nothing to do).

    The smoke build is the suite's largest cost (~6 minutes of both cores), built once for both workers (smoke_build).
    While one worker builds it, the other should run the tests that do not need it; afterwards both take the tests that
    do. So: each module's smoke tests are one group (its module fixtures, e.g. the SLURM submission, are set up once), the
    first module's group comes first (its worker builds), then every test that needs no build, then the other groups.
    Without xdist the order changes nothing but when the build happens.
    """
    for item in items:  # before xdist's own hook (a wrapper runs around the others), which puts the group in the test id
        if "smoke_build" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group(f"smoke_{item.path.stem}"))
    yield
    smoke = [i for i in items if i.get_closest_marker("xdist_group")]
    first = [i for i in smoke if i.path == smoke[0].path] if smoke else []
    items[:] = first + [i for i in items if i not in smoke] + [i for i in smoke if i not in first]


def _build_smoke(base: Path) -> tuple[Path, Path]:
    a, b = copy_project(base / "A"), copy_project(base / "B")
    git_commit_all(a)  # a git + DVC project, as a fresh clone: the run's onsuccess records what it built in dvc.lock
    run_ok([sys.executable, "-m", "handflow", "pipeline", "dvc-yaml"], b)
    git_commit_all(b)
    # Side by side: dvc repro runs one stage at a time, so the two builds share the cores well; results do not
    # depend on it (fixed torch threads, seeded generators), which test_dvc_repro_equals_snakemake checks.
    log = open(base / "dvc_repro.log", "w")  # closed below
    repro = subprocess.Popen(["dvc", "repro", *DVC_REPRO_TARGETS], cwd=b, env=PIPELINE_ENV, stdout=log, stderr=subprocess.STDOUT)
    try:
        env = {**PIPELINE_ENV, "HANDFLOW_PARAMS_READ": str(a / PARAMS_READ)}
        out = run_ok([*SNAKEMAKE, *CORES], a, env)
        (base / BUILD_LOG).write_text(out)
    finally:
        rc = repro.wait()
        log.close()
    assert rc == 0, f"dvc repro failed:\n{(base / 'dvc_repro.log').read_text()[-3000:]}"
    return a, b


@pytest.fixture(scope="session")
def smoke_build(tmp_path_factory, worker_id) -> tuple[Path, Path]:
    """The whole smoke pipeline built by `snakemake --cores 2` (A, see CORES), and the data stages by `dvc repro` (B).

    A is a DVC project too: its run's onsuccess commits what it built to dvc.lock, so DVC's
    view of a change (`dvc status`, push and pull) is tested on A. B is there to show that
    `dvc repro` builds the same bytes from the same dvc.yaml (the data chain: six stages; the
    papers' stages are compared across drivers by the SLURM test).
    A records the params keys each command read in PARAMS_READ.
    Both stay as built: a test that edits a project or runs a command in it (Snakemake and DVC write their own
    state there) works on a copy, since under pytest-xdist the other worker reads and copies A at the same time.
    Built once per run: the first worker to ask builds it under a lock in the workers' shared temporary folder, the
    other waits for it (and fails with the same message if the build failed).
    """
    shared = tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
    base, failed = shared / "pipeline", shared / "pipeline.failed"
    with FileLock(str(shared / "pipeline.lock")):
        if failed.exists():
            pytest.fail(f"the smoke build failed in another worker:\n{failed.read_text()}")
        if (base / "built").exists():
            return base / "A", base / "B"
        try:
            a, b = _build_smoke(base)
        except BaseException as exc:
            failed.write_text(str(exc)[-5000:])
            raise
        (base / "built").touch()
        return a, b


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hand") / "hand_model"
    prepare("open", None, out)
    return out


@pytest.fixture(scope="session")
def hands(model_dir) -> dict[str, HandModel]:
    return create_pair(model_dir, dtype=torch.float64)


@pytest.fixture(scope="session")
def smoke_params(tmp_path_factory):
    return load_params(copy_project(tmp_path_factory.mktemp("proj") / "p", "smoke"))


@pytest.fixture(scope="session")
def smoke_dataset(tmp_path_factory, model_dir, smoke_params) -> Path:
    """An embedded InterHand2.6M tree at the smoke scale (generated once per session)."""
    root = tmp_path_factory.mktemp("ih") / "InterHand2.6M"
    cfg = EmbeddedConfig.from_params(smoke_params, "data.embedded", seed=0)
    Generator(create_pair(model_dir), cfg, backend="numpy").write(root)
    return root


@pytest.fixture(scope="session")
def smoke_h5(tmp_path_factory, smoke_dataset, hands) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("h5")
    files = {}
    for split in ("train", "val", "test"):
        files[split] = out / f"interhand26m_{split}.h5"
        preprocess_split(smoke_dataset, split, hands, files[split], 512, {"data_source": "embedded", "scale": "smoke"})
    return files


def world_hands(hands, n: int, seed: int = 0):
    """Random world-space fits of both hands: params, and their 42 joints (right 0-20, left 21-41)."""
    rng = np.random.default_rng(seed)
    params, joints = {}, []
    for side in ("right", "left"):
        orient, pose = rng.normal(0, 1.0, (n, 3)), rng.normal(0, 0.3, (n, 45))
        shape, trans = rng.normal(0, 1.0, (n, 10)), rng.normal(0, 0.05, (n, 3))
        with torch.no_grad():
            out = hands[side](*(torch.as_tensor(a) for a in (orient, pose, shape, trans)))
        j = out.joints.numpy()
        pca = hands[side].pose_to_pca(torch.as_tensor(pose)).numpy()
        params[side] = HandParams(pca, shape, axis_angle_to_matrix_np(orient), j[:, MIDDLE_MCP])
        joints.append(j)
    return params, np.concatenate(joints, axis=1)


@pytest.fixture(scope="session")
def smoke_pairs(tmp_path_factory, hands) -> Path:
    """A small file of plausible InterHandGen training pairs (random world fits, canonicalised) and their statistics."""
    out = tmp_path_factory.mktemp("ihg")
    params, _ = world_hands(hands, 24, seed=3)
    pairs = canonical_pair(params["left"], params["right"])
    swapped = canonical_pair(
        mirror_hand(params["right"], hands["right"], hands["left"]), mirror_hand(params["left"], hands["left"], hands["right"])
    )
    write_pairs(out / "pairs.h5", {"pairs": pairs, "pairs_swapped": swapped}, {"data_source": "test"})
    Normalizer.fit(np.concatenate([pairs, swapped])).save(out / "stats.json")
    return out


@pytest.fixture(scope="session")
def digit_stores(smoke_dataset, model_dir, tmp_path_factory) -> tuple[Path, Path, Path, Path]:
    """DIGIT's training stores of the smoke dataset: annotations, image LMDB, mask LMDB, mask metadata."""
    out = tmp_path_factory.mktemp("digit")
    write_annotations(smoke_dataset, "train", out / "ann.h5", {})
    pack_split_images(smoke_dataset, "train", out / "images.lmdb", batch_mb=1)
    render_split(smoke_dataset, "train", create_pair(model_dir), out / "segm.lmdb", out / "meta.json", 0.5, 10.0, backend="numpy")
    return out / "ann.h5", out / "images.lmdb", out / "segm.lmdb", out / "meta.json"


@pytest.fixture(scope="session")
def hoi4d_tree(tmp_path_factory, model_dir) -> Path:
    """A tiny embedded HOI4D tree: two categories, one instance per split, two short videos each."""
    from handflow.hand.model import create
    from handflow.papers.affordance.generator import EmbeddedHOI4DConfig, HOI4DGenerator, SplitSize

    root = tmp_path_factory.mktemp("hoi4d") / "HOI4D"
    cfg = EmbeddedHOI4DConfig(("mug", "knife"), {"train": SplitSize(1, 2), "test": SplitSize(1, 2)}, 6, 128, 96, 0)
    HOI4DGenerator(create(model_dir, "right"), cfg, backend="numpy").write(root)
    return root


@pytest.fixture(scope="session")
def hoi4d_pairs(tmp_path_factory, hoi4d_tree) -> dict[str, Path]:
    """Pairs files of both splits of `hoi4d_tree`, crops at 64 px."""
    from handflow.papers.affordance.pairs import InpaintConfig, build_pairs

    out = tmp_path_factory.mktemp("pairs")
    files = {}
    for split in ("train", "test"):
        files[split] = out / f"pairs_{split}.h5"
        build_pairs(hoi4d_tree, hoi4d_tree / "Sets" / f"{split}.csv", files[split], 64, InpaintConfig(None, 5, 7, 0.05), 0, {})
    return files


@pytest.fixture(scope="session")
def s2h_characters():
    """Three anny Mixamo characters with clearly different hands and rest poses."""
    from handflow.papers.s2h.characters import CharacterSpec, build_character

    specs = [
        CharacterSpec("Plain", "train", {"gender": 0.0}, {}, 0.0, 0.0),
        CharacterSpec("Long", "train", {"gender": 1.0, "age": 0.9}, {"fingers_length": 1.0, "fingers_diameter": -1.0}, 8.0, 4.0),
        CharacterSpec("Broad", "test", {"weight": 1.0}, {"fingers_length": -1.0, "scale": 1.0, "fingers_diameter": 1.0}, 15.0, -3.0),
    ]
    return [build_character(s) for s in specs]


@pytest.fixture(scope="session")
def s2h_mixhand(tmp_path_factory, smoke_h5, model_dir) -> Path:
    """A tiny MixHand tree (three characters, the smoke InterHand2.6M splits' subjects) packed to HDF5."""
    from handflow.papers.s2h.characters import CharacterSpec
    from handflow.papers.s2h.dataset import MotionConfig, build_tree, pack

    root = tmp_path_factory.mktemp("s2h")
    specs = (
        CharacterSpec("Ada", "train", {"gender": 0.0}, {}, 2.0, 0.0),
        CharacterSpec("Eve", "val", {"gender": 0.3}, {"scale": -0.5}, 10.0, 2.0),
        CharacterSpec("Fay", "test", {"weight": 0.7}, {"fingers_length": 1.0}, 15.0, -4.0),
    )
    build_tree(root / "tree", specs, MotionConfig(3, 4, 2, True), model_dir, smoke_h5, 0)
    pack(root / "tree", root / "mixhand.h5", model_dir)
    return root / "mixhand.h5"


def _first_stage(out: Path, kind: str, **config) -> Path:
    """A randomly initialised diffusers autoencoder of `kind` (two levels: 1/2 resolution) saved as a local directory."""
    import diffusers

    torch.manual_seed(0)
    getattr(diffusers, kind)(
        down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2,
        block_out_channels=(8, 16),
        norm_num_groups=4,
        sample_size=32,
        **config,
    ).save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tiny_vae(tmp_path_factory) -> Path:
    """A randomly initialised diffusers AutoencoderKL saved as a local directory (what a user's LDM weights look like)."""
    return _first_stage(tmp_path_factory.mktemp("vae") / "vae", "AutoencoderKL", latent_channels=4)


@pytest.fixture(scope="session")
def tiny_vq(tmp_path_factory) -> Path:
    """A randomly initialised diffusers VQModel saved as a local directory (the seed's LDM first stage is a VQ-f4)."""
    return _first_stage(tmp_path_factory.mktemp("vq") / "vq", "VQModel", latent_channels=3, num_vq_embeddings=32)


PIPELINE_UNET_CHANNELS = {"StableDiffusionPipeline": 4, "StableDiffusionInpaintPipeline": 9, "StableDiffusionDepth2ImgPipeline": 5}


def tiny_sd_pipeline(root: Path, kind: str) -> Path:
    """A randomly initialised diffusers Stable Diffusion pipeline of class `kind` saved as a local directory `root/pipeline`
    (the layout of a user's pipeline): a UNet of the class's input channels (latents 4, + mask and masked image for
    inpainting, + depth for SD-2-depth) at 16 x 16 latents, a small autoencoder (factor 2: 32 px images), a one-layer CLIP
    text model and a CLIP tokenizer whose vocabulary (letters) and merges the test writes itself; SD-2-depth without its
    DPT estimator (the pipeline is given the depth). Nothing is downloaded."""
    import json

    import diffusers
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    root.mkdir(parents=True, exist_ok=True)
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in "abcdefghijklmnopqrstuvwxyz":
        vocab[c], vocab[c + "</w>"] = len(vocab), len(vocab) + 1
    (root / "vocab.json").write_text(json.dumps(vocab))
    (root / "merges.txt").write_text("#version: 0.2\n")
    torch.manual_seed(0)
    text = CLIPTextConfig(
        vocab_size=len(vocab), hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
        max_position_embeddings=16, bos_token_id=0, eos_token_id=1, pad_token_id=1,
    )  # fmt: skip
    unet = UNet2DConditionModel(
        sample_size=16, in_channels=PIPELINE_UNET_CHANNELS[kind], out_channels=4, layers_per_block=1, block_out_channels=(16, 32),
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=16, attention_head_dim=4, norm_num_groups=8,
    )  # fmt: skip
    vae = AutoencoderKL(
        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2, block_out_channels=(8, 16),
        latent_channels=4, norm_num_groups=4, sample_size=32,
    )  # fmt: skip
    tokenizer = CLIPTokenizer(str(root / "vocab.json"), str(root / "merges.txt"), model_max_length=16)
    parts = {
        "vae": vae,
        "text_encoder": CLIPTextModel(text),
        "tokenizer": tokenizer,
        "unet": unet,
        "scheduler": DDIMScheduler(steps_offset=1),
    }
    if kind == "StableDiffusionDepth2ImgPipeline":
        parts |= {"depth_estimator": None, "feature_extractor": None}
    else:
        parts |= {"safety_checker": None, "feature_extractor": None, "requires_safety_checker": False}
    getattr(diffusers, kind)(**parts).save_pretrained(root / "pipeline")
    return root / "pipeline"


@pytest.fixture(scope="session")
def tiny_inpaint_pipeline(tmp_path_factory) -> Path:
    """A tiny Stable Diffusion inpainting pipeline directory (`tiny_sd_pipeline`)."""
    return tiny_sd_pipeline(tmp_path_factory.mktemp("inpaint"), "StableDiffusionInpaintPipeline")


@pytest.fixture(scope="session")
def tiny_sd_pipelines(tmp_path_factory) -> dict[str, Path]:
    """Tiny text-to-image and SD-2-depth pipeline directories (`tiny_sd_pipeline`), by Diffusion-HPC's role name."""
    root = tmp_path_factory.mktemp("sd")
    return {
        "t2i": tiny_sd_pipeline(root / "t2i", "StableDiffusionPipeline"),
        "depth": tiny_sd_pipeline(root / "depth", "StableDiffusionDepth2ImgPipeline"),
    }


@pytest.fixture(scope="session")
def dhpc_body():
    """The embedded body model (anny), built once per session."""
    from handflow.papers.dhpc.body import load_body

    return load_body(None)


@pytest.fixture(scope="session")
def dhpc_renders(tmp_path_factory, dhpc_body) -> Path:
    """A tiny Diffusion-HPC renders file: 16 px, every split a few images, a small pose set."""
    from handflow.papers.dhpc.dataset import DataConfig, SplitSize, build

    splits = {
        "web": SplitSize(12, "web"),
        "web_ref": SplitSize(4, "web"),
        "web_holdout": SplitSize(4, "web"),
        "real_train": SplitSize(3, "real", True),
        "real_test": SplitSize(4, "real", True),
    }
    out = tmp_path_factory.mktemp("dhpc") / "renders.h5"
    build(out, DataConfig(16, splits, 32, 8.0, 40.0, {"web": 0.85, "real": 0.55}), 0, "numpy", dhpc_body, {"data_source": "test"})
    return out


# SMPL's 24 joints (y up, z forward, x the body's left), roughly where SMPL puts them, in its parent order
SMPL_PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)
SMPL_JOINTS = (
    (0, 0, 0),
    (0.1, -0.1, 0),
    (-0.1, -0.1, 0),
    (0, 0.1, 0),
    (0.1, -0.5, 0),
    (-0.1, -0.5, 0),
    (0, 0.25, 0),
    (0.1, -0.9, 0),
    (-0.1, -0.9, 0),
    (0, 0.3, 0),
    (0.1, -0.95, 0.1),
    (-0.1, -0.95, 0.1),
    (0, 0.5, 0),
    (0.08, 0.45, 0),
    (-0.08, 0.45, 0),
    (0, 0.6, 0),
    (0.18, 0.45, 0),
    (-0.18, 0.45, 0),
    (0.45, 0.45, 0),
    (-0.45, 0.45, 0),
    (0.7, 0.45, 0),
    (-0.7, 0.45, 0),
    (0.78, 0.45, 0),
    (-0.78, 0.45, 0),
)


def smpl_layout_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    """An SMPL-layout model (the official keys and shapes, 24 joints) on a tiny mesh: a tetrahedron of 4 vertices at each
    joint, each vertex skinned to its joint. Not SMPL's body: its layout, for testing the reader and the posing."""
    rng = np.random.default_rng(seed)
    corners = np.array([[0.02, 0, 0], [-0.01, 0.02, 0], [-0.01, -0.02, 0], [0, 0, 0.03]])
    v = (np.asarray(SMPL_JOINTS)[:, None] + corners[None]).reshape(-1, 3)
    n = len(v)
    joint_of = np.repeat(np.arange(24), 4)
    regressor = np.zeros((24, n))
    regressor[joint_of, np.arange(n)] = 0.25
    weights = np.zeros((n, 24))
    weights[np.arange(n), joint_of] = 1.0
    faces = np.concatenate([4 * j + np.array([[0, 1, 2], [0, 1, 3], [0, 2, 3], [1, 2, 3]]) for j in range(24)])
    return {
        "v_template": v,
        "f": faces.astype(np.int64),
        "shapedirs": rng.normal(0, 0.002, (n, 3, 10)),
        "posedirs": np.zeros((n, 3, 207)),
        "J_regressor": regressor,
        "weights": weights,
        "kintree_table": np.array([SMPL_PARENTS, range(24)], np.int64),
    }
