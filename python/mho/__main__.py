"""python -m mho: the same as the `mho` command."""
import sys

from .cli import main

sys.exit(main())
