"""``python -m convsim.lesson NAME``: run a lesson (see ``--help``)."""

import sys

from convsim.lesson.cli import main

sys.exit(main())
