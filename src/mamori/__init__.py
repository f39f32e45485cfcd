"""mamori: gate container images in CI, see results in a console, detect attacks at runtime."""

__version__ = "0.1.0"
