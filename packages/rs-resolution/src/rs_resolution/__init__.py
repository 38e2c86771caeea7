"""Dynamic resolution, coordinate spaces and box geometry for remote-sensing VLMs."""

__version__ = "0.1.0"
