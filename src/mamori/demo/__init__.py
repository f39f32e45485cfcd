"""The demo: a small image built offline, inventoried the way a user would."""
