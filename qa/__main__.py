"""`python -m qa` is the `dossier` command (the contract names both)."""

import sys

from dossier.cli import main

sys.exit(main())
