"""The notebook kernel the runner starts: an ipykernel of the interpreter running metapipeline.

Papermill starts the kernelspec named ``python3``; on a machine whose ``python3``
kernelspec belongs to another interpreter (a system Jupyter, another venv) the notebooks
would run without ``lineage_utils``. ``kernel_of_this_interpreter`` makes the name
resolve to ``sys.executable`` for the duration, installing nothing globally.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

logger = logging.getLogger(__name__)

KERNEL_NAME = "python3"

__all__ = ["KERNEL_NAME", "kernel_of_this_interpreter", "runs_this_interpreter"]


def runs_this_interpreter(argv0: str) -> bool:
    """Whether a kernelspec's ``argv[0]`` starts the interpreter running us.

    jupyter_client replaces a bare ``python``/``python3``/``python3.X`` with
    ``sys.executable``. Paths are compared without resolving symlinks: a venv's
    ``bin/python`` points at the base interpreter but is a different environment.
    """
    major, minor = sys.version_info[:2]
    if argv0 in {"python", f"python{major}", f"python{major}.{minor}"}:
        return True
    ours = Path(os.path.abspath(sys.executable))
    theirs = Path(os.path.abspath(argv0))
    return theirs == ours or (theirs.parent == ours.parent and theirs.name.startswith("python"))


@contextmanager
def kernel_of_this_interpreter(kernel_name: str = KERNEL_NAME) -> Iterator[None]:
    """Make ``kernel_name`` resolve to an ipykernel of ``sys.executable`` meanwhile.

    If the kernelspec Jupyter would pick (user, env or system folder) starts another
    interpreter, a kernelspec for ``sys.executable`` is written to a temporary folder
    put first on ``JUPYTER_PATH`` for the duration; nothing is installed globally.
    """
    try:
        argv0 = KernelSpecManager().get_kernel_spec(kernel_name).argv[0]
    except NoSuchKernel:
        argv0 = None
    if argv0 is not None and runs_this_interpreter(argv0):
        yield
        return
    logger.debug("kernel %r starts %s, not %s; pinning it", kernel_name, argv0, sys.executable)
    with tempfile.TemporaryDirectory(prefix="metapipeline-kernels-") as tmp:
        spec_dir = Path(tmp) / "kernels" / kernel_name
        spec_dir.mkdir(parents=True)
        spec = {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": f"Python {sys.version_info[0]} (metapipeline)",
            "language": "python",
            "metadata": {"debugger": True},
        }
        (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
        previous = os.environ.get("JUPYTER_PATH")
        os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [tmp, previous]))
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop("JUPYTER_PATH", None)
            else:
                os.environ["JUPYTER_PATH"] = previous
