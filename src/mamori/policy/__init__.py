"""Policies and risk acceptances: the stage between matching and the report.

Depends on mamori.model, mamori.errors and mamori.versions only.
"""
