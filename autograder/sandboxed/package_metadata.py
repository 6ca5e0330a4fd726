"""Package metadata read once in the fork server instead of in every worker.

Lessons print `importlib.metadata.version("torch")` in their first cell. Each call finds torch's
dist-info folder on sys.path and parses its whole METADATA file (the long description included):
1 to 4 ms of every run, paid twice by a submission that is run again on varied data. Workers see
the same read-only files as the fork server, so the answer cannot differ from one read there.
"""
from __future__ import annotations

import importlib.metadata as metadata
from collections.abc import Iterable


class _Read(metadata.PathDistribution):
    """A distribution whose metadata was parsed once; everything else reads its files as before."""

    def __init__(self, found: metadata.PathDistribution):
        super().__init__(found._path)
        self._message = found.metadata

    @property
    def metadata(self):
        return self._message


def install(names: Iterable[str]) -> list[str]:
    """Read the metadata of the distributions `names` now; `importlib.metadata.distribution`,
    `version` and `metadata` then answer them from memory. Returns the names read; a name not
    installed, or not installed as a plain folder, is left to importlib."""
    read: dict[str, metadata.Distribution] = {}
    for name in names:
        try:
            found = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        if type(found) is metadata.PathDistribution:
            read[_key(name)] = _Read(found)
    if not read:
        return []
    looked_up = metadata.distribution

    def distribution(distribution_name: str) -> metadata.Distribution:
        return read.get(_key(distribution_name)) or looked_up(distribution_name)

    distribution.__doc__ = looked_up.__doc__
    metadata.distribution = distribution  # version() and metadata() look it up in the module
    return sorted(read)


def _key(name: str) -> str:
    return metadata.Prepared.normalize(name)  # type: ignore[attr-defined]
