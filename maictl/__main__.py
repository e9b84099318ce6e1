"""`python -m maictl` runs the command line."""

from maictl.cli import main

main()
