"""Builds `mamori-instrument` from the C source shipped in this package: statically linked,
so that it runs in any app image (distroless, no libc, no Python)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

from mamori.errors import MamoriError

SOURCE = "instrument.c"
CFLAGS = ("-static", "-Os", "-s", "-Wall", "-Wextra", "-Werror")


class BuildError(MamoriError):
    exit_code = 3


def build_instrument(output: Path, compiler: str = "gcc") -> Path:
    """Compiles the helper to `output` (replaced atomically); returns it."""
    if shutil.which(compiler) is None:
        raise BuildError(f"{compiler} not found: install gcc and libc6-dev")
    output = output.absolute()
    if not output.parent.is_dir():
        raise BuildError(f"{output.parent}: no such directory")
    source = resources.files(__package__) / SOURCE
    with resources.as_file(source) as path:
        fd, partial = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
        os.close(fd)
        try:
            done = subprocess.run(
                [compiler, *CFLAGS, "-o", partial, str(path)],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                first = (done.stderr.strip().splitlines() or ["no output"])[0]
                raise BuildError(f"cannot build mamori-instrument: {first}")
            os.chmod(partial, 0o755)
            os.replace(partial, output)
        finally:
            if os.path.exists(partial):
                os.unlink(partial)
    return output
