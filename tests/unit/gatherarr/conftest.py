"""Make this folder's helper module importable under both pytest import modes."""

from __future__ import annotations

import sys
from pathlib import Path

# The repo may run pytest with rootdir-relative "prepend" imports or with importlib mode and
# no package __init__ here; putting the folder on sys.path makes the helper import work in both.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
