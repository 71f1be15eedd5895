"""The tool's version: in C2PA claims, manifests and `vault --version`."""

__version__ = "0.1.0"
