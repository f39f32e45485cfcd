"""The vulnerability database: OSV exports → SQLite (build, update, status) and its read API.

The matcher uses `mamori.vulndb.reader` (VulnDB, AffectedEntry, Range, normalize_name).
Ground floor: imports nothing of mamori but `errors`.
"""
