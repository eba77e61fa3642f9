"""Outputs of a benchmark run: CompressAI-format JSON per codec, a Markdown table with BD figures, R-D plots."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable

from .harness import BenchConfig, CodecSpec, _write_json

__all__ = ["write_reports", "markdown", "plot"]


def _fmt(x: Any, digits: int = 2, signed: bool = False) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"


def markdown(summary: dict, cfg: BenchConfig) -> str:
    """One table per mode: mean PSNR (mean bpp) per target rate, BD-rate and BD-PSNR against the anchor."""
    lines = []
    run = summary.get("run", {})
    lines.append(f"Anchor for BD figures: `{summary['anchor']}`. Rates: target bpp (the whole wavecodec stream, header"
                 f" included, at most floor(bpp*H*W/8) bytes); cells give mean PSNR in dB over the images and, in"
                 f" brackets, the mean bpp reached. `unreach.` = some image cannot be coded that small.")
    lines.append("")
    for mode, m in summary["modes"].items():
        n = max((c["params"]["n_images"] for c in m["curves"].values()), default=0)
        lines.append(f"### {'Grayscale' if mode == 'gray' else 'Colour'} ({m['metric']}, {n} images)")
        lines.append("")
        head = ["codec"] + [f"{r:g} bpp" for r in summary["rates"]] + ["BD-rate", "BD-PSNR"]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
        for label, c in m["curves"].items():
            res, kept = c["results"], c["params"]["target_bpp"]
            cells = []
            for r in summary["rates"]:
                if r in kept:
                    i = kept.index(r)
                    cells.append(f"{_fmt(res[m['metric']][i])} ({_fmt(res['bpp'][i], 3)})")
                else:
                    cells.append("unreach." if str(r) in c["params"]["unreachable_rates"] else "n/a")
            bd = m["bd"].get(label, {})
            if label == summary["anchor"]:
                bd_cells = ["anchor", "anchor"]
            else:
                bd_cells = [_fmt(bd.get("bd_rate_percent"), 1, True) + ("%" if math.isfinite(bd.get("bd_rate_percent", math.nan)) else ""),
                            _fmt(bd.get("bd_psnr_db"), 2, True) + (" dB" if math.isfinite(bd.get("bd_psnr_db", math.nan)) else "")]
            lines.append("| " + " | ".join([f"`{label}`"] + cells + bd_cells) + " |")
        lines.append("")
    lines.append("Mean encode / decode time per image (ms, arithmetic mean over images and rates, rate search included"
                 " in encode for codecs without rate control):")
    lines.append("")
    lines.append("| codec | " + " | ".join(f"{mode} enc | {mode} dec" for mode in summary["modes"]) + " |")
    lines.append("|---|" + "---:|---:|" * len(summary["modes"]))
    labels = list(next(iter(summary["modes"].values()))["curves"]) if summary["modes"] else []
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
        lines.append(f"Run: {run['tasks']} tasks ({run['tasks_run']} run now), {run['executor']}, wall time"
                     f" {run['wall_s']:.1f} s; " + ", ".join(f"{k} {v}" for k, v in run["environment"].items()) + ".")
        lines.append("")
    return "\n".join(lines)


def plot(summary: dict, out: Path) -> list[Path]:
    """PSNR-vs-bpp and MS-SSIM(dB)-vs-bpp plots, one figure per mode, PNG and SVG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for mode, m in summary["modes"].items():
        msssim_key = "ms-ssim-y" if mode == "gray" else "ms-ssim-rgb"
        fig, axes = plt.subplots(1, 2, figsize=(13, 5))
        native = _native()
        colours = plt.get_cmap("tab10" if len(m["curves"]) <= 10 else "tab20")
        markers = "os^vD<>ph*"
        for k, (label, c) in enumerate(m["curves"].items()):
            res = c["results"]
            if not res["bpp"]:
                continue
            kw = dict(linestyle="-" if c["params"]["codec"] in native else "--", marker=markers[k % len(markers)], ms=4,
                      color=colours(k % colours.N), label=label)
            axes[0].plot(res["bpp"], res[m["metric"]], **kw)
            ms = [(b, -10 * math.log10(max(1e-12, 1 - v))) for b, v in zip(res["bpp"], res[msssim_key]) if v == v]
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
        axes[0].set(xlabel="bits per pixel", ylabel=f"{m['metric']} (dB)", title=f"{mode}: PSNR")
        axes[1].set(xlabel="bits per pixel", ylabel="MS-SSIM (dB) = -10 log10(1 - MS-SSIM)", title=f"{mode}: MS-SSIM")
        for ax in axes:
            ax.grid(True, alpha=0.3)
        axes[0].legend(fontsize=8, title="solid: wavecodec, dashed: external", title_fontsize=8)
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


def write_reports(summary: dict, cfg: BenchConfig, *, log: Callable[[str], None] = print) -> None:
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    for mode, m in summary["modes"].items():
        for label, c in m["curves"].items():
            _write_json(out / mode / f"{CodecSpec(c['params']['codec'], tuple(c['params']['options'].items())).slug}.json", c)
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
