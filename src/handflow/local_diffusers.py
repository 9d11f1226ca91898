"""The user's local diffusers directories (a pipeline, an autoencoder): loaded, or refused in one line naming them.

Affordance Diffusion's inpainter and first stage and Diffusion-HPC's Stable Diffusion pipelines are directories a
researcher brings. A damaged one (a config value of the wrong type, a missing key or subfolder, a weights file cut
short) reaches diffusers' constructors and surfaces as any of a dozen exception types (TypeError, KeyError,
ValueError, NotImplementedError, safetensors' own error, ...), most with multi-line messages, so `attempt` catches
them all and keeps the first line. Nothing is fetched: every caller passes `local_files_only`.

What loads is not yet what was saved: diffusers initialises at random any layer the config asks for and the weights
lack, with a warning. A model loaded alone reports it (`output_loading_info`), and the autoencoder is refused then; a
pipeline's `from_pretrained` reports nothing per component, so a pipeline whose config disagrees with its weights
loads (and draws noise), as it would in diffusers itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from handflow.errors import InputError

T = TypeVar("T")
# Above every size a diffusers or CLIP config holds (a vocabulary of 49,408, widths to 2,048, 1,000 timesteps). A value
# beyond it is damage, and diffusers builds what a config says layer by layer: a `layers_per_block` of 10**12 ran until
# the kernel killed the process (the fuzz suite), not into an exception.
MAX_SIZE = 2**20


def _too_large(node: object, where: str = "") -> tuple[str, int] | None:
    if isinstance(node, int) and not isinstance(node, bool) and abs(node) > MAX_SIZE:
        return where, node
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        found = _too_large(child, f"{where}.{key}" if where else str(key))
        if found:
            return found
    return None


def check_sizes(path: Path) -> None:
    """Refuse a directory whose `config.json` (its own or a component's) holds an integer beyond `MAX_SIZE`; a config
    that does not parse is left to diffusers' loader."""
    for file in [path / "config.json", *sorted(path.glob("*/config.json"))]:
        try:
            found = _too_large(json.loads(file.read_text()))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            continue
        if found:
            raise InputError(file, found[0], f"{found[1]}: implausibly large (at most {MAX_SIZE})")


def class_name(path: Path, index: str, key: str) -> str:
    """`_class_name` of the directory's `index` file (`model_index.json` of a pipeline, `config.json` of a model), once
    its configs' sizes are checked (`check_sizes`); `key` is the params key that named the directory, for the message."""
    file = path / index
    if not file.is_file():
        raise InputError(path, index, f"not a diffusers {'pipeline' if index == 'model_index.json' else 'model'} directory ({key})")
    try:
        doc = json.loads(file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        doc = None
    if not isinstance(doc, dict):
        raise InputError(file, None, "not a JSON object")
    name = doc.get("_class_name")
    if not isinstance(name, str):
        raise InputError(file, "_class_name", "missing or not a class name")
    check_sizes(path)
    return name


def attempt(path: Path, doing: str, call: Callable[[], T]) -> T:
    """`call()` (a diffusers `from_pretrained` of `path`, a first use of what it loaded), any failure one line:
    "cannot <doing>: <the exception's first line>"."""
    try:
        return call()
    except Exception as exc:  # diffusers raises many types for a damaged directory (module docstring)
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise InputError(path, None, f"cannot {doing}: {first}") from None
