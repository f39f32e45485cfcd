"""Image sources and layer access. Nothing in this package knows about packages."""
