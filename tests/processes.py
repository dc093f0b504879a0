"""Running the `tollhouse` command as a process of its own, as an operator would."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass


def clean_env(**settings: object) -> dict[str, str]:
    """This process's environment without any TOLLHOUSE_* variable, plus `settings` as
    TOLLHOUSE_<NAME> (so that nothing of the developer's own configuration leaks in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLHOUSE_")}
    env.update({f"TOLLHOUSE_{k.upper()}": str(v) for k, v in settings.items()})
    return env


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: bytes
    stderr: bytes


async def run_tollhouse(*args: str, env: dict[str, str]) -> Finished:
    """`python -m tollhouse.cli.main ARGS` in a subprocess; its exit code and output."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tollhouse.cli.main",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return Finished(proc.returncode, out, err)
