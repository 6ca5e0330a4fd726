"""`autograder fetch`: download an assignment's resources once into the course's cache, each checked
against the SHA-256 in assignment.yaml before it is kept (grading never touches the network)."""
from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from ..config import Resource, load_config
from ..course import Layout
from ..errors import AutograderError
from ..files import sha256_of

_BLOCK = 1 << 16
_TIMEOUT = 60.0
# A wrong URL, a server that never ends its answer or a file far larger than the course meant would fill the
# disk; pretrained weights of a small model are a few hundred MB. `autograder fetch --max-mb` raises it.
DEFAULT_MAX_MB = 2048


def fetch_resources(layout: Layout, progress: Callable[[Resource, int | None], Callable[[int], None]],
                    max_mb: int = DEFAULT_MAX_MB) -> list[str]:
    """Download every resource not yet in the cache (or whose cached copy is damaged), each at most `max_mb`
    MB; returns a line per resource. `progress(resource, total bytes or None)` gives a function told of
    each block's size."""
    lines = []
    for resource in load_config(layout.config).resources:
        target = layout.resources / resource.sha256
        if target.is_file() and sha256_of(target) == resource.sha256:
            lines.append(f"{layout.slug}/{resource.name}: already downloaded")
            continue
        _download(layout, resource, target, progress, max_mb)
        lines.append(f"{layout.slug}/{resource.name}: downloaded and verified ({target.stat().st_size} bytes)")
    return lines


def _download(layout: Layout, resource: Resource, target: Path, progress, max_mb: int) -> None:
    limit = max_mb << 20
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(prefix=f".{resource.sha256[:12]}.", suffix=".part", dir=target.parent)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(resource.url, timeout=_TIMEOUT) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            if total is not None and total > limit:
                raise _too_large(layout, resource, max_mb)
            advance = progress(resource, total)
            received = 0
            for block in iter(lambda: response.read(_BLOCK), b""):
                received += len(block)
                if received > limit:  # no length given, or more bytes than it said
                    raise _too_large(layout, resource, max_mb)
                digest.update(block)
                out.write(block)
                advance(len(block))
        if digest.hexdigest() != resource.sha256:
            raise AutograderError(layout.config, f"resource '{resource.name}' from {resource.url} has SHA-256 "
                                                 f"{digest.hexdigest()}, not {resource.sha256} as assignment.yaml says; "
                                                 "nothing was kept (check the url and the hash)")
        os.replace(partial, target)
        os.chmod(target, 0o444)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise AutograderError(layout.config, f"resource '{resource.name}' could not be downloaded from "
                                             f"{resource.url}: {reason}") from None
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


def _too_large(layout: Layout, resource: Resource, max_mb: int) -> AutograderError:
    return AutograderError(layout.config, f"resource '{resource.name}' from {resource.url} is larger than {max_mb} MB, "
                                          "the most `autograder fetch` downloads; nothing was kept (check the url, or "
                                          "give a larger limit with --max-mb if the file is meant to be this large)")
