"""`python -m tokprep` is the `tokprep` command."""

import sys

from tokprep.cli import main

sys.exit(main())
