"""Box text codecs and rotated-box detection metrics (DOTA_devkit / mmrotate conventions, mAP_nc, mF1)."""

__version__ = "0.1.0"
