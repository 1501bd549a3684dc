"""Files written atomically get the permissions of an ordinarily opened file (issue 16: ``result.json``
was 0600 while ``model.pt`` was 0644)."""
from __future__ import annotations

import os
import stat

from mmfuse.files import write_atomically


def test_an_atomically_written_file_follows_the_umask(tmp_path):
    saved = os.umask(0o022)
    try:
        write_atomically(tmp_path / "result.json", lambda stream: stream.write("{}"))
        os.umask(0o077)
        write_atomically(tmp_path / "private.json", lambda stream: stream.write("{}"))
    finally:
        os.umask(saved)
    assert stat.S_IMODE((tmp_path / "result.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "private.json").stat().st_mode) == 0o600
    assert (tmp_path / "result.json").read_text() == "{}" and sorted(p.name for p in tmp_path.iterdir()) == ["private.json", "result.json"]
