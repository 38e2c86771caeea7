"""The Zoom-in Chain for ultra-high-resolution remote-sensing images."""

__version__ = "0.1.0"
