"""Plug-in codecs: discovery through entry points and the built-in adapters.

A third-party package makes a codec available by declaring an entry point in the
group ``wavecodec.codecs`` whose name is the codec name and whose value is a
:class:`wavecodec.Codec` subclass (instantiated without arguments) or instance::

    [project.entry-points."wavecodec.codecs"]
    mycodec = "mypackage.codec:MyCodec"

On the first call of :func:`wavecodec.codecs` / :func:`wavecodec.get_codec` /
:func:`wavecodec.decode`, wavecodec loads every such entry point.  The built-in
adapters (``jpeg``, ``webp``, ``jpeg2000``, ``jpegxl``, ``avif``, ``sperr``, ``compressai``)
are declared the same way in wavecodec's own ``pyproject.toml`` and also listed in
:data:`BUILTIN_ADAPTERS`, so that they are found from a source checkout too.

Missing optional dependencies: a codec whose library is not installed is **not
registered** (so ``codecs()`` lists only codecs that work); asking for it by name
(``encode``, ``decode`` of its stream, ``get_codec``) raises
:class:`wavecodec.MissingDependencyError` naming the pip extra that installs it.
:func:`unavailable` lists such codecs with the reason.  A plug-in that fails to load
for another reason is reported the same way (and with a warning), never breaking
wavecodec itself.
"""

from __future__ import annotations

import importlib
import warnings
from importlib.metadata import entry_points
from typing import Any

from .. import _registry
from .._registry import Codec
from ..errors import InvalidArgumentError, MissingDependencyError

__all__ = ["ENTRY_POINT_GROUP", "BUILTIN_ADAPTERS", "discover", "load_plugin", "unavailable", "is_adapter"]

ENTRY_POINT_GROUP = "wavecodec.codecs"

#: The built-in adapters, exactly as declared under [project.entry-points."wavecodec.codecs"].
BUILTIN_ADAPTERS: dict[str, str] = {
    "jpeg": "wavecodec.plugins.pillow_codecs:JpegCodec",
    "webp": "wavecodec.plugins.pillow_codecs:WebpCodec",
    "jpeg2000": "wavecodec.plugins.imagecodecs_codecs:Jpeg2000Codec",
    "jpegxl": "wavecodec.plugins.imagecodecs_codecs:JpegXlCodec",
    "avif": "wavecodec.plugins.imagecodecs_codecs:AvifCodec",
    "sperr": "wavecodec.plugins.imagecodecs_codecs:SperrCodec",
    "compressai": "wavecodec.plugins.compressai_codec:CompressAICodec",
}

#: The pip extra that installs each built-in adapter's dependencies.
BUILTIN_EXTRAS: dict[str, str] = {
    "jpeg": "standard", "webp": "standard", "jpeg2000": "standard", "jpegxl": "standard", "avif": "standard",
    "sperr": "standard", "compressai": "learned",
}

_LOADED: dict[str, str] = {}  # codec name -> entry point value already handled


def _install_hint(name: str, source: str, *, upgrade: bool = False) -> str:
    """The pip command that (re)installs what plug-in ``name`` from distribution ``source`` needs."""
    if source == "wavecodec":
        if upgrade or name not in BUILTIN_EXTRAS:
            return "pip install --force-reinstall wavecodec"
        return f"pip install 'wavecodec[{BUILTIN_EXTRAS[name]}]'"
    return f"pip install --upgrade {source}" if upgrade else f"pip install {source}"


def _resolve(value: str) -> Any:
    module, _, attr = value.partition(":")
    obj = importlib.import_module(module.strip())
    for part in attr.strip().split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


def load_plugin(name: str, value: str, *, source: str = "wavecodec") -> Codec | None:
    """Load one entry point ``name = value`` and register its codec; return it, or ``None`` if unavailable."""
    for arg, given in (("name", name), ("value", value), ("source", source)):
        if not isinstance(given, str):
            raise InvalidArgumentError(f"load_plugin: {arg} must be a str, not {type(given).__name__}")
    with _registry._LOCK:
        return _load_plugin(name, value, source)


def _load_plugin(name: str, value: str, source: str) -> Codec | None:
    if _LOADED.get(name) == value:
        return _registry._REGISTRY.get(name)
    _LOADED[name] = value
    try:
        obj = _resolve(value)
        if isinstance(obj, type) and issubclass(obj, Codec):
            missing = getattr(obj, "missing_dependency", None)
            reason = missing() if callable(missing) else None
            if reason:
                _registry._UNAVAILABLE[name] = reason
                return None
            obj = obj()
        if not isinstance(obj, Codec):
            raise TypeError(f"{value} is not a wavecodec.Codec subclass or instance")
        if obj.name != name:
            raise InvalidArgumentError(f"entry point {name!r} gives a codec named {obj.name!r}; the names must match")
    except MissingDependencyError as exc:
        _registry._UNAVAILABLE[name] = str(exc)
        return None
    except ImportError as exc:
        _registry._UNAVAILABLE[name] = (
            f"codec {name!r} (plug-in from {source}) cannot be imported: {exc}; install its dependencies with"
            f" {_install_hint(name, source)}"
        )
        return None
    except Exception as exc:  # noqa: BLE001 - a broken plug-in must not break wavecodec
        msg = (f"codec {name!r} (plug-in from {source}, {value}) failed to load: {type(exc).__name__}: {exc};"
               f" reinstall or upgrade it: {_install_hint(name, source, upgrade=True)}")
        _registry._UNAVAILABLE[name] = msg
        warnings.warn(msg, RuntimeWarning, stacklevel=2)
        return None
    existing = _registry._REGISTRY.get(name)
    if existing is not None:
        if type(existing) is not type(obj):
            msg = f"plug-in codec {name!r} from {source} ({value}) clashes with the registered codec of that name; ignored"
            warnings.warn(msg, RuntimeWarning, stacklevel=2)
        return existing
    _registry._UNAVAILABLE.pop(name, None)
    return _registry.register(obj)


def discover(refresh: bool = False) -> None:
    """Register the built-in adapters and every ``wavecodec.codecs`` entry point (idempotent).

    ``refresh=True`` rescans the installed distributions (e.g. after installing a plug-in
    in a running interpreter or adding a folder to ``sys.path``).
    """
    if not isinstance(refresh, bool):
        raise InvalidArgumentError(f"refresh must be True or False, got {refresh!r}")
    with _registry._LOCK:  # one discovery at a time; other threads wait for it (see _registry._LOCK)
        if refresh:
            importlib.invalidate_caches()
        for name, value in BUILTIN_ADAPTERS.items():
            load_plugin(name, value)
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            dist = getattr(getattr(ep, "dist", None), "name", None) or "an installed package"
            if dist == "wavecodec" and BUILTIN_ADAPTERS.get(ep.name) == ep.value:
                continue
            load_plugin(ep.name, ep.value, source=dist)


def unavailable() -> dict[str, str]:
    """Codecs declared (built-in adapters, entry points) but not loadable here, with the reason."""
    _registry._ensure_builtins()
    return dict(sorted(_registry._UNAVAILABLE.items()))


def is_adapter(codec: Codec) -> bool:
    """True for codecs that wrap another library (the built-in adapters and third-party plug-ins)."""
    return not type(codec).__module__.startswith("wavecodec.coders")
