"""`python -m gansim ...`: see gansim.cli."""
import sys

from .cli import main

if __name__ == "__main__":  # spawn workers import this module again: do nothing then
    sys.exit(main())
