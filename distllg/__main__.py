"""``python -m distllg COMMAND ...``: the ``distllg`` command (:mod:`distllg.cli`)."""

import sys

from distllg.cli import main

sys.exit(main())
