"""Catalogers: one module per package ecosystem, each reading the squashed image view."""
