"""The SQLite schema of the vulnerability database.

One row per advisory (the raw OSV JSON kept zstd-compressed for detail views), one row per
affected package entry with its ranges, explicit versions and severities as compact JSON (one
read per package at match time, and far smaller than a row per version), the aliases each
record lists, and the alias groups computed over all of them (any id of a group finds it).

JSON column shapes:
    affected.ranges      [[type, repo, [[event, value], ...]], ...]   events in record order
    affected.versions    [version, ...]
    *.severities         [[type, score], ...]; affected.severities is NULL when the entry
                         has none of its own
    *_specific           the record's object, or NULL
"""

from __future__ import annotations

TABLES = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE advisory (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    summary TEXT NOT NULL,
    published TEXT NOT NULL,
    modified TEXT NOT NULL,
    withdrawn TEXT NOT NULL,
    severity TEXT NOT NULL,
    severities TEXT NOT NULL,
    upstream TEXT NOT NULL,
    database_specific TEXT,
    grp INTEGER NOT NULL DEFAULT 0,
    raw BLOB NOT NULL
);
CREATE TABLE alias (advisory INTEGER NOT NULL, alias TEXT NOT NULL);
CREATE TABLE affected (
    rowid INTEGER PRIMARY KEY,
    advisory INTEGER NOT NULL,
    ecosystem TEXT NOT NULL,
    base_ecosystem TEXT NOT NULL,
    name TEXT NOT NULL,
    norm_name TEXT NOT NULL,
    purl TEXT NOT NULL,
    ranges TEXT NOT NULL,
    versions TEXT NOT NULL,
    severities TEXT,
    ecosystem_specific TEXT,
    database_specific TEXT
);
CREATE TABLE alias_group (name TEXT PRIMARY KEY, grp INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX affected_advisory ON affected(advisory);
CREATE INDEX alias_advisory ON alias(advisory);
"""

# Built after the bulk insert: cheaper than maintaining them row by row.
LOOKUP_INDEXES = """
CREATE INDEX affected_package ON affected(ecosystem, norm_name);
CREATE INDEX affected_base ON affected(base_ecosystem, ecosystem);
CREATE INDEX alias_group_grp ON alias_group(grp);
"""

ADVISORY_COLUMNS = (
    "id, summary, published, modified, withdrawn, severity, severities, upstream, "
    "database_specific, raw"
)
AFFECTED_COLUMNS = (
    "ecosystem, base_ecosystem, name, norm_name, purl, ranges, versions, severities, "
    "ecosystem_specific, database_specific"
)
