"""maied: the maie audio intelligence daemon."""

__version__ = "0.1.0"
PIPELINE_VERSION = "1"
