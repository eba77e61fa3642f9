"""Numba kernels of wavecodec (plain arrays in and out, no argument checking).

The public, validated API lives in the modules one level up (for instance
:mod:`wavecodec.transform` wraps :mod:`wavecodec._kernels.transform`).

Cache guard.  Numba's on-disk cache (``cache=True``) checks only the source
file of the function it loads: a kernel of ``spiht.py`` compiled with the coder
of ``arith.py`` inlined would stay cached after an edit of ``arith.py``.  So on
import this package keeps a digest of all its source files beside the cached
kernels, and when the digest changes it removes the cached kernels of this
package, which then compile afresh.  Nothing happens where the cache directory
cannot be written (Numba then caches elsewhere or not at all).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

_DIGEST_FILE = "wavecodec-kernels.sha256"


def _sources_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _cache_dir(folder: Path) -> Path | None:
    """The folder where Numba caches the kernels of ``folder`` (its own choice of locator)."""
    from numba.core.caching import CacheImpl

    for cls in CacheImpl._locator_classes:
        locator = cls.from_function(_cache_dir, str(folder / "__init__.py"))
        if locator is not None:
            return Path(locator.get_cache_path())
    return None


def _guard_cache() -> None:
    folder = Path(__file__).resolve().parent
    try:
        cache = _cache_dir(folder)
        if cache is None:
            return
        digest = _sources_digest(folder)
        stamp = cache / _DIGEST_FILE
        if stamp.exists() and stamp.read_text().strip() == digest:
            return
        modules = {p.stem for p in folder.glob("*.py")}
        for path in list(cache.glob("*.nbi")) + list(cache.glob("*.nbc")):
            if path.name.split(".", 1)[0] in modules:
                path.unlink(missing_ok=True)
        cache.mkdir(parents=True, exist_ok=True)
        stamp.write_text(digest + "\n")
    except (OSError, ImportError, AttributeError, TypeError):  # a read-only install, another Numba: no guard
        pass


_guard_cache()
