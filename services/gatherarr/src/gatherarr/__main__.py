"""Allow ``python -m gatherarr``."""

from gatherarr._cli import main

raise SystemExit(main())
