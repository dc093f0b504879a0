"""The README's operator sequence works as written on a fresh database.

The block is read from README.md itself (the fenced block under "The operator's commands"), so
the documentation cannot drift from the commands without this test failing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def operator_block() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## The operator's commands", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert match is not None, "no ```sh block under 'The operator's commands'"
    return match.group(1)


def test_the_readme_operator_block_runs_on_a_fresh_database(tmp_path: Path) -> None:
    block = operator_block()
    assert block.startswith("tollhouse db upgrade")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLHOUSE_")}
    # `tollhouse` and `python3` as an operator with the checkout's .venv activated has them.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["TOLLHOUSE_DATABASE_URL"] = f"sqlite:///{tmp_path / 'tollhouse.db'}"
    env["TOLLHOUSE_SPOOL_DIR"] = str(tmp_path / "spool")
    done = subprocess.run(
        ["sh", "-eu", "-c", block],
        cwd=ROOT,  # where the README's relative paths (the shipped plans file) are
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "loaded the shipped price book" in done.stdout
    assert "Acme Research" in done.stdout
    assert done.stderr == ""
