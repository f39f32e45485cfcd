"""Matching: installed packages → vulnerabilities, with OSV's range semantics."""
