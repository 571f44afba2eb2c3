"""What every command (`python -m app`, `ingest`, `evaluation`, `bench`) sets up once for its process,
and how it turns the project's errors into words and an exit status. Library code does neither: it never
writes the environment or configures logging (tests/test_architecture.py checks)."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable

from core.errors import NewsdeskError

OFFLINE = {
    "HF_HUB_OFFLINE": "1",  # never reach a model hub: this product runs on offline machines
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",  # users see our progress and errors, not a weight-loading bar
    "TRANSFORMERS_VERBOSITY": "error",  # nor tokenizer length warnings
    "TOKENIZERS_PARALLELISM": "false",
}
"""Environment defaults for the model libraries, set before any of them is imported; a value already in
the environment wins."""


def configure(verbose: bool = False) -> None:
    """Logging for this process (INFO with `verbose`, else WARNING) and the `OFFLINE` defaults."""
    for name, value in OFFLINE.items():
        os.environ.setdefault(name, value)
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


def run(command: Callable[[], int], *, interrupted: str = "") -> int:
    """`command()`'s exit status; a project error is one line on stderr and status 2, Ctrl-C status 130
    (after `interrupted`, when given)."""
    try:
        return command()
    except NewsdeskError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if interrupted:
            print(interrupted, file=sys.stderr)
        return 130
