"""`python -m dossier`."""

import sys

from dossier.cli import main

sys.exit(main())
