"""The remote-sensing data engine: readers, offline processing, weighted mixing, conversation rendering."""

__version__ = "0.1.0"
