"""`mmfuse --help` and `mmfuse list` start without torch (issue 16; the time is measured by
bench/cli_startup.py), and what `list` reads from the plugins' source is what the registries hold."""
from __future__ import annotations

import subprocess
import sys

import pytest

from mmfuse.registry import REGISTRIES

IMPORTS_TORCH = """import sys
from mmfuse.cli import main
try:
    main({argv!r})
except SystemExit:
    pass
print("torch" in sys.modules, file=sys.stderr)
"""


@pytest.mark.parametrize("argv", [["--help"], ["list"], ["list", "experiment"]])
def test_help_and_list_do_not_import_torch(argv):
    done = subprocess.run([sys.executable, "-c", IMPORTS_TORCH.format(argv=argv)], capture_output=True, text=True)
    assert done.stderr.strip().splitlines()[-1] == "False", done.stderr


@pytest.mark.parametrize("kind", REGISTRIES)
def test_the_catalogue_read_from_source_is_the_registry(kind):
    registry = REGISTRIES[kind]
    assert registry.catalogue() == {name: registry.describe(name) for name in registry.list()}
    assert list(registry.catalogue("afft*")) == registry.list("afft*")
