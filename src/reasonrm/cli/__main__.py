"""`python -m reasonrm.cli`: the same command as `reasonrm`."""

import sys

from reasonrm.cli import main

sys.exit(main())
