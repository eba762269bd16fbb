"""`python -m cli <command>`: the operator commands (see `cli/commands.py`)."""

import sys

from cli.commands import main

sys.exit(main())
