# Params loading (validated against workflow/schemas; one line per error) and helpers.
import json
import sys
from pathlib import Path

from handflow.errors import InputError
from handflow.params import load_params
from handflow.pipeline.deps import module_files

try:
    P = load_params(Path(workflow.basedir))
except InputError as exc:
    sys.exit(f"handflow: error: {exc}")


def par(*keys):
    """Params keys for `params:`: a changed value reruns the rule (and its DVC stage).

    Values are canonical JSON (sorted keys), so rewriting a params file without changing
    a value (reordered keys, a YAML round trip) reruns nothing. The dict's keys are the
    dotted params keys, which `handflow pipeline dvc-yaml` turns into DVC `params:`.
    """
    return {key: json.dumps(value, sort_keys=True) for key, value in P.subset(*keys).items()}


def code_of(*modules):
    """Source files a rule runs, found from its modules' imports (see handflow.pipeline.deps)."""
    src = Path(workflow.basedir) / "src"
    # the CLI itself, but not what it imports for other commands
    files = [src / "handflow" / "cli.py", *module_files(src, "handflow.params", "handflow.errors", *modules)]
    return sorted({str(f.relative_to(workflow.basedir)) for f in files})


def raw_interhand_root():
    """The InterHand2.6M tree the data stages read: generated, downloaded, or the user's copy."""
    if P.get("global.data_source") == "embedded":
        return "data/raw/embedded/InterHand2.6M"
    return P.get("global.interhand26m_root") or "data/raw/interhand26m"


SPLITS = P.get("data.preprocess.splits")
