"""Outputs of a benchmark run: CompressAI-format JSON per codec, a Markdown table with BD figures, R-D plots."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .harness import BenchConfig, CodecSpec, _write_json

__all__ = ["write_reports", "markdown", "plot", "published_psnr_at"]


def _fmt(x: Any, digits: int = 2, signed: bool = False) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"


def _published(c: dict) -> bool:
    return c["params"].get("kind") == "published"


def _rates(c: dict, basis: str) -> list[float]:
    res = c["results"]
    return res["bpp-payload"] if basis == "payload" and "bpp-payload" in res else res["bpp"]


def published_psnr_at(curve: dict, metric: str, rate: float) -> float:
    """PSNR of a published curve at ``rate`` bpp, linear in log(bpp) between its two nearest points
    (NaN outside the published range: no extrapolation)."""
    bpp, q = curve["results"]["bpp"], curve["results"][metric]
    if not bpp or not bpp[0] <= rate <= bpp[-1]:
        return math.nan
    return float(np.interp(math.log(rate), np.log(bpp), q))


def _bd_cells(bd: dict | None, is_anchor: bool) -> list[str]:
    if is_anchor:
        return ["anchor", "anchor"]
    bd = bd or {}
    rate, db = bd.get("bd_rate_percent", math.nan), bd.get("bd_psnr_db", math.nan)
    mark = " †" if bd.get("warnings") else ""
    return [(_fmt(rate, 1, True) + "%" if math.isfinite(rate) else "n/a") + mark,
            (_fmt(db, 2, True) + " dB" if math.isfinite(db) else "n/a") + mark]


def markdown(summary: dict, cfg: BenchConfig) -> str:
    """One table per mode: mean PSNR (mean bpp) per target rate, BD-rate and BD-PSNR against each anchor."""
    lines = []
    run = summary.get("run", {})
    basis = summary.get("rate_basis", "container")
    anchors = summary.get("anchors") or [summary["anchor"]]
    lines.append(f"BD figures against {', '.join(f'`{a}`' for a in anchors)}, on {basis} bpp"
                 + (" (the codec's own bytes, as published figures count them)" if basis == "payload" else
                    " (the whole wavecodec stream, header included)") + ".")
    lines.append(f"Target rates are whole-stream budgets (at most floor(bpp*H*W/8) bytes, header included); cells give"
                 f" mean PSNR in dB over the images and, in brackets, the mean {basis} bpp reached. `unreach.` = some"
                 f" image cannot be coded that small. `header` = mean container overhead in bpp (container minus"
                 f" payload bpp).")
    if any(_published(c) for m in summary["modes"].values() for c in m["curves"].values()):
        lines.append("*published* rows are figures from the literature, not measured here (see `params.source`):"
                     " their cells are *interpolated* linearly in log(bpp) between the published points (n/a outside"
                     " their range); their BD figures use the published points themselves.")
    if any(f.get("warnings") for m in summary["modes"].values() for by in m["bd"].values() for f in by.values()):
        lines.append("† the two curves overlap on less than 75% of their joint range (BD figure over the overlap"
                     " only; see `warnings` in summary.json).")
    lines.append("")
    for mode, m in summary["modes"].items():
        measured = [c for c in m["curves"].values() if not _published(c)]
        n = max((c["params"]["n_images"] for c in measured), default=0)
        lines.append(f"### {'Grayscale' if mode == 'gray' else 'Colour'} ({m['metric']}, {n} images)")
        lines.append("")
        present = [a for a in anchors if a in m["bd"]]
        head = ["codec", "kind"] + [f"{r:g} bpp" for r in summary["rates"]] + ["header"]
        for a in present:
            head += [f"BD-rate vs {a}", f"BD-PSNR vs {a}"] if len(present) > 1 else ["BD-rate", "BD-PSNR"]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "|".join(["---", "---"] + ["---:"] * (len(head) - 2)) + "|")
        for label, c in m["curves"].items():
            res = c["results"]
            cells = []
            if _published(c):
                kind = "*published*"
                for r in summary["rates"]:
                    v = published_psnr_at(c, m["metric"], r)
                    cells.append(f"*~{_fmt(v)}*" if math.isfinite(v) else "n/a")
                header = "—"
            else:
                kind = "measured"
                kept, rates = c["params"]["target_bpp"], _rates(c, basis)
                for r in summary["rates"]:
                    if r in kept:
                        i = kept.index(r)
                        cells.append(f"{_fmt(res[m['metric']][i])} ({_fmt(rates[i], 3)})")
                    elif str(r) in c["params"].get("same_streams_as", {}):
                        cells.append("same")
                    else:
                        cells.append("unreach." if str(r) in c["params"]["unreachable_rates"] else "n/a")
                over = [a - b for a, b in zip(res["bpp"], res.get("bpp-payload", res["bpp"]))]
                header = f"+{sum(over) / len(over):.4f}" if over else "n/a"
            bd_cells = []
            for a in present:
                bd_cells += _bd_cells(m["bd"][a].get(label), label == a)
            lines.append("| " + " | ".join([f"`{label}`", kind] + cells + [header] + bd_cells) + " |")
        lines.append("")
    lines.append("Mean encode / decode time per image (ms, arithmetic mean over images and rates, rate search included"
                 " in encode for codecs without rate control):")
    lines.append("")
    lines.append("| codec | " + " | ".join(f"{mode} enc | {mode} dec" for mode in summary["modes"]) + " |")
    lines.append("|---|" + "---:|---:|" * len(summary["modes"]))
    labels = [s.label for s in cfg.codecs]
    for label in labels:
        cells = []
        for mode, m in summary["modes"].items():
            res = m["curves"][label]["results"]
            for k in ("encoding_time", "decoding_time"):
                v = res[k]
                cells.append(_fmt(1e3 * sum(v) / len(v), 1) if v else "n/a")
        lines.append(f"| `{label}` | " + " | ".join(cells) + " |")
    lines.append("")
    if run:
        lines.append(f"Run: {run['tasks']} tasks ({run['tasks_run']} run now, {run.get('rates_run', '?')} of"
                     f" {run.get('rates_total', '?')} (task, rate) results), {run['executor']}, wall time"
                     f" {run['wall_s']:.1f} s; " + ", ".join(f"{k} {v}" for k, v in run["environment"].items()) + ".")
        lines.append("")
    return "\n".join(lines)


def plot(summary: dict, out: Path) -> list[Path]:
    """PSNR-vs-bpp and MS-SSIM(dB)-vs-bpp plots, one figure per mode, PNG and SVG.

    Measured wavecodec codecs: solid lines; measured external codecs: dashed; published
    curves: dotted with hollow markers, "(published)" in the legend.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    basis = summary.get("rate_basis", "container")
    written = []
    for mode, m in summary["modes"].items():
        msssim_key = "ms-ssim-y" if mode == "gray" else "ms-ssim-rgb"
        fig, axes = plt.subplots(1, 2, figsize=(14, 6))
        native = _native()
        n = len(m["curves"])
        n_measured = sum(not _published(c) for c in m["curves"].values())
        measured_colours = plt.get_cmap("tab10" if n_measured <= 10 else "tab20")
        published_colours = plt.get_cmap("Dark2")  # another palette: a published curve never looks measured
        markers = "os^vD<>ph*P"
        counts = {True: 0, False: 0}
        for k, (label, c) in enumerate(m["curves"].items()):
            res = c["results"]
            if not res["bpp"]:
                continue
            published = _published(c)
            style = ":" if published else ("-" if c["params"]["codec"] in native else "--")
            palette = published_colours if published else measured_colours
            colour = palette(counts[published] % palette.N)
            counts[published] += 1
            kw = dict(linestyle=style, marker=markers[k % len(markers)], ms=4, color=colour,
                      label=f"{label} (published)" if published else label)
            if published:
                kw.update(markerfacecolor="none")
            rates = _rates(c, basis)
            axes[0].plot(rates, res[m["metric"]], **kw)
            ms = [(b, -10 * math.log10(max(1e-12, 1 - v))) for b, v in zip(rates, res[msssim_key]) if v == v]
            if ms:
                axes[1].plot([b for b, _ in ms], [v for _, v in ms], **kw)
        rates = [r for r in summary["rates"] if r > 0]
        if rates and max(rates) / min(rates) > 10:  # 0.02..1 bpp: a log axis shows the low rates
            from matplotlib.ticker import FormatStrFormatter

            for ax in axes:
                ax.set_xscale("log")
                ax.set_xticks(rates)
                ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
                ax.xaxis.set_minor_formatter(FormatStrFormatter(""))
        if any(_published(c) for c in m["curves"].values()) and rates:
            for ax in axes:  # published curves span 0.1-4 bpp: show the measured range
                ax.set_xlim(0.9 * min(rates), 1.1 * max(rates))
            lo_hi = [v for c in m["curves"].values() for b, v in zip(_rates(c, basis), c["results"][m["metric"]])
                     if 0.9 * min(rates) <= b <= 1.1 * max(rates)]
            if lo_hi:
                axes[0].set_ylim(min(lo_hi) - 0.5, max(lo_hi) + 0.5)
            ms_vals = [-10 * math.log10(max(1e-12, 1 - v)) for c in m["curves"].values()
                       for b, v in zip(_rates(c, basis), c["results"][msssim_key])
                       if v == v and 0.9 * min(rates) <= b <= 1.1 * max(rates)]
            if ms_vals:
                axes[1].set_ylim(min(ms_vals) - 0.5, max(ms_vals) + 0.5)
        xlabel = "bits per pixel" + (" (codec's own bytes)" if basis == "payload" else " (whole stream)")
        n_images = max((c["params"]["n_images"] for c in m["curves"].values() if not _published(c)), default=0)
        where = f"{'colour' if mode == 'rgb' else 'gray'}, {n_images} image{'s' if n_images != 1 else ''}"
        axes[0].set(xlabel=xlabel, ylabel=f"{m['metric']} (dB)", title=f"{where}: PSNR")
        axes[1].set(xlabel=xlabel, ylabel="MS-SSIM (dB) = -10 log10(1 - MS-SSIM)", title=f"{where}: MS-SSIM")
        for ax in axes:
            ax.grid(True, alpha=0.3)
        axes[0].legend(fontsize=7, title="solid: wavecodec, dashed: external,\ndotted: published (not measured here)",
                       title_fontsize=7, ncol=2 if n > 10 else 1)
        fig.tight_layout()
        for ext in ("png", "svg"):
            path = out / f"rd-{mode}.{ext}"
            fig.savefig(path, dpi=110, metadata={"Date": None} if ext == "svg" else None)
            written.append(path)
        plt.close(fig)
    return written


def _native() -> set[str]:
    import wavecodec
    from wavecodec.plugins import is_adapter

    return {n for n, c in wavecodec.codecs().items() if not is_adapter(c)}


def _overlap_note(warning: str) -> str:
    """'BD-rate: insufficient curve overlap along PSNR: 64% of ...' -> 'BD-rate 64%'."""
    what, _, rest = warning.partition(":")
    pct = rest.split(":")[1].split("%")[0].strip() if rest.count(":") >= 1 else "?"
    return f"{what} {pct}%"


def write_reports(summary: dict, cfg: BenchConfig, *, log: Callable[[str], None] = print) -> None:
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    for mode, m in summary["modes"].items():
        for label, c in m["curves"].items():
            if _published(c):
                continue
            _write_json(out / mode / f"{CodecSpec(c['params']['codec'], tuple(c['params']['options'].items())).slug}.json", c)
        for anchor, by_label in m["bd"].items():
            flagged = []
            for label, f in by_label.items():
                if any("do not overlap" in w for w in f.get("warnings", ())):
                    flagged.append(f"{label} (no overlap)")
                elif f.get("warnings"):
                    flagged.append(f"{label} ({', '.join(_overlap_note(w) for w in f['warnings'])})")
            if flagged:
                log(f"warning: {mode}, BD vs {anchor}: curves overlapping on less than 75% of their joint range"
                    f" (figures over the overlap only, † in results.md; details in summary.json): {'; '.join(flagged)}")
    _write_json(out / "summary.json", summary)
    md = markdown(summary, cfg)
    (out / "results.md").write_text(md)
    log(md)
    if cfg.plots:
        try:
            paths = plot(summary, out)
        except ImportError:
            log("matplotlib is not installed: no plots (pip install 'wavecodec[plot]')")
        else:
            log("plots: " + ", ".join(str(p) for p in paths))
    log(f"results in {out}/ (summary.json, results.md, <mode>/<codec>.json, per_image/)")
