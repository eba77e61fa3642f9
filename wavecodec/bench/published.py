"""Published rate-distortion points (learned codecs, VTM, ...) shown beside the measured curves.

Two formats are read:

* CompressAI's result files (``results/image/kodak/*.json`` in the CompressAI
  repository): ``{"name": ..., "description": ..., "results": {"bpp": [...],
  "psnr-rgb": [...], "ms-ssim-rgb": [...]}}`` (older files say ``psnr`` / ``ms-ssim``,
  read as RGB); ``psnr-y`` / ``ms-ssim-y`` give a grayscale curve;
* a CSV with the columns ``source,name,bpp,psnr_rgb,ms_ssim_rgb`` (optionally
  ``psnr_y,ms_ssim_y``), one row per point, one curve per ``source`` — the layout of
  ``benchmarks/reference/published-kodak-rd.csv``.

Published ``bpp`` counts only the codec's own bytes, so the measured curves are
compared on their payload-only bpp (``results["bpp-payload"]``) whenever published
curves are in a run.  Points repeated in a file (same bpp) are kept once.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from wavecodec.errors import InvalidArgumentError

__all__ = ["PublishedCurve", "load_references"]

_MODES = {"rgb": ("psnr-rgb", "ms-ssim-rgb"), "gray": ("psnr-y", "ms-ssim-y")}
_JSON_ALIASES = {"psnr": "psnr-rgb", "ms-ssim": "ms-ssim-rgb"}
_CSV_COLUMNS = {"psnr_rgb": "psnr-rgb", "ms_ssim_rgb": "ms-ssim-rgb", "psnr_y": "psnr-y", "ms_ssim_y": "ms-ssim-y"}


@dataclass
class PublishedCurve:
    """One published curve: ``points[metric]`` lists aligned with ``bpp`` (sorted, de-duplicated)."""

    name: str
    source: str
    file: str
    bpp: list[float]
    points: dict[str, list[float]] = field(default_factory=dict)
    description: str = ""

    def curve(self, mode: str) -> dict | None:
        """This curve in the harness's CompressAI format for ``mode`` (None if it has no PSNR for it)."""
        psnr_key, msssim_key = _MODES[mode]
        if psnr_key not in self.points:
            return None
        ms = self.points.get(msssim_key, [math.nan] * len(self.bpp))
        return {
            "name": self.name,
            "description": self.description or f"published results: {self.source}",
            "results": {"bpp": list(self.bpp), "bpp-payload": list(self.bpp), psnr_key: list(self.points[psnr_key]),
                        msssim_key: list(ms)},
            "params": {"kind": "published", "codec": None, "source": self.source, "file": self.file, "mode": mode,
                       "n_points": len(self.bpp),
                       "bpp": "published bpp: the codec's own bytes (no wavecodec container)"},
        }


def _curve(name: str, source: str, file: str, rows: Iterable[dict[str, float]], description: str = "") -> PublishedCurve:
    by_bpp: dict[float, dict[str, float]] = {}
    for row in rows:
        by_bpp.setdefault(row["bpp"], row)  # a repeated point is kept once
    bpp = sorted(by_bpp)
    metrics = sorted({k for row in by_bpp.values() for k in row if k != "bpp"})
    points = {k: [by_bpp[b].get(k, math.nan) for b in bpp] for k in metrics}
    return PublishedCurve(name=name, source=source, file=file, bpp=bpp, points=points, description=description)


def _number(text: str, where: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"--reference {where}: {text!r} is not a number") from None


def _read_json(path: Path) -> list[PublishedCurve]:
    try:
        data = json.loads(path.read_text())
        results = data["results"]
        bpp = results["bpp"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidArgumentError(f"--reference {path}: not a CompressAI result file ({{'name', 'results': {{'bpp',"
                                   f" 'psnr-rgb', ...}}}}): {type(exc).__name__}: {exc}") from None
    keys = {_JSON_ALIASES.get(k, k): k for k in results if _JSON_ALIASES.get(k, k) in _CSV_COLUMNS.values()}
    if not any(k.startswith("psnr") for k in keys):
        raise InvalidArgumentError(f"--reference {path}: no psnr-rgb / psnr-y results")
    rows = []
    for i, b in enumerate(bpp):
        row = {"bpp": _number(b, f"{path} bpp[{i}]")}
        for ours, theirs in keys.items():
            row[ours] = _number(results[theirs][i], f"{path} {theirs}[{i}]")
        rows.append(row)
    return [_curve(str(data.get("name", path.stem)), path.stem, str(path), rows, str(data.get("description", "")))]


def _read_csv(path: Path) -> list[PublishedCurve]:
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        columns = set(reader.fieldnames or ())
        if not {"source", "name", "bpp"} <= columns or not columns & {"psnr_rgb", "psnr_y"}:
            raise InvalidArgumentError(f"--reference {path}: a CSV needs the columns source, name, bpp and psnr_rgb"
                                       f" (or psnr_y); it has {sorted(columns)}")
        groups: dict[str, list[dict[str, float]]] = {}
        names: dict[str, str] = {}
        for n, row in enumerate(reader, start=2):
            src = row["source"]
            names.setdefault(src, row["name"])
            point = {"bpp": _number(row["bpp"], f"{path}:{n} bpp")}
            for col, key in _CSV_COLUMNS.items():
                if row.get(col) not in (None, ""):
                    point[key] = _number(row[col], f"{path}:{n} {col}")
            groups.setdefault(src, []).append(point)
    return [_curve(names[src], src, str(path), rows) for src, rows in groups.items()]


def load_references(paths: Sequence[str | Path], select: Sequence[str] | None = None) -> list[PublishedCurve]:
    """Published curves from CompressAI JSON files and/or CSVs; ``select`` keeps, in its order, the curves
    whose ``source`` or ``name`` (case-insensitive) it lists."""
    curves: list[PublishedCurve] = []
    for p in paths:
        path = Path(p)
        if not path.is_file():
            raise InvalidArgumentError(f"--reference {path}: no such file")
        curves += _read_csv(path) if path.suffix.lower() == ".csv" else _read_json(path)
    if select:
        chosen = []
        for want in select:
            hits = [c for c in curves if want.lower() in (c.source.lower(), c.name.lower())]
            if not hits:
                raise InvalidArgumentError(f"--reference-curves: no curve {want!r} in {', '.join(map(str, paths))};"
                                           f" sources: {', '.join(c.source for c in curves)}")
            chosen += [c for c in hits if c not in chosen]
        curves = chosen
    return curves
