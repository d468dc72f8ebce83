"""The "Scaling out" page's commands run as written, at small sizes: its ``train_census.py``
(the ``code-block`` captioned so) and its first ``bash`` block (write the census table,
train in one process, then in two under torchrun), with ``ROWS=20000; EPOCHS=1`` in place
of the page's sizes. The page's ``>>>`` examples run in ``test_docs_user_guide.py``.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PAGE = ROOT / "docs" / "user_guide" / "scaling_out.rst"
#: The --quick sizes of the page's commands.
QUICK = "ROWS=20000; EPOCHS=1"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def _blocks(text: str, language: str) -> list[tuple[str, str]]:
    """``(options, code)`` of each ``.. code-block:: <language>`` of an rst page."""
    out = []
    pattern = rf"^\.\. code-block:: {language}\n((?:   :\w+:.*\n)*)\n((?:(?:   .*)?\n)+)"
    for match in re.finditer(pattern, text, flags=re.MULTILINE):
        code = "\n".join(line[3:] for line in match.group(2).splitlines())
        out.append((match.group(1), code.strip("\n") + "\n"))
    return out


def test_the_page_commands_run(tmp_path):
    pytest.importorskip("pyarrow")
    text = PAGE.read_text(encoding="utf-8")
    scripts = [code for options, code in _blocks(text, "python")
               if ":caption: train_census.py" in options]
    assert len(scripts) == 1
    (tmp_path / "train_census.py").write_text(scripts[0])
    commands = _blocks(text, "bash")[1][1]  # the first is the Dask extra's install line
    first, *rest = commands.splitlines()
    assert first.startswith("ROWS=1000000; EPOCHS=10")
    assert any(line.startswith("torchrun --standalone --nproc-per-node 2") for line in rest)
    # The commands as a user runs them: python and torchrun of this environment, the
    # benchmarks folder of this checkout, this checkout's sk_mtl.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, command in [("python", ""), ("torchrun", " -m torch.distributed.run")]:
        wrapper = bin_dir / name
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}"{command} "$@"\n')
        wrapper.chmod(0o755)
    (tmp_path / "benchmarks").symlink_to(ROOT / "benchmarks")
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    script = "set -e\n" + QUICK + "\n" + "\n".join(rest) + "\n"
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "wrote 20,000 rows to census" in out
    # One line from the single process, one from rank 0 of the two.
    assert re.search(r"^1 process\(es\): valid_loss \d\.\d{4}$", out, flags=re.MULTILINE)
    assert re.search(r"^2 process\(es\): valid_loss \d\.\d{4}$", out, flags=re.MULTILINE)
    assert (tmp_path / "census.safetensors").exists()
    assert len(list((tmp_path / "census").glob("*.parquet"))) == 1

    import sk_mtl

    model = sk_mtl.load(tmp_path / "census.safetensors")
    assert model.data_parallel_ == {"rank": 0, "world_size": 2, "backend": "gloo"}
