"""maictl: the command-line client of maied (a pure HTTP client; it imports nothing from maied)."""

__version__ = "0.1.0"
