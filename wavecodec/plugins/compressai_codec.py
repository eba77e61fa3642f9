"""Learned image codecs from CompressAI (Bégaint et al., 2020) behind the wavecodec API.

A CompressAI model follows the ``compress(x) -> {"strings", "shape"}`` /
``decompress(strings, shape) -> {"x_hat"}`` contract.  The adapter feeds it the image
as a float tensor in [0, 1] (gray images as R=G=B, decoded back as the channel mean),
padded by edge replication to a multiple of 64 samples, and packs the model's
strings into the container payload (4-byte length + bytes each) and the latent
shape into the parameter block, so the rate counts the same bytes as every codec.

Where the model comes from:

* ``wavecodec.encode(img, "compressai", model="bmshj2018-factorized", quality=3)``:
  CompressAI's zoo with its pretrained weights (downloaded once by torch.hub);
* ``checkpoint="path/to/file.pth.tar"``: a local state dict of that architecture
  (its SHA-256 is stored in the stream and checked when decoding);
* :func:`register_model` binds an in-memory model (e.g. one you trained) to a codec
  name of its own.

With a rate and no ``quality``, the highest zoo quality whose stream fits is taken
(bisection over 1..8); a bound model has a single rate, so a smaller budget is
reported as unreachable.  Needs ``pip install 'wavecodec[learned]'`` (torch + compressai).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import struct
from typing import Any, Mapping

import numpy as np

from .._container import Header, ParamReader, ParamWriter
from .._registry import Capabilities, Codec, EncodeTarget, ImageSpec, Option, register
from ..errors import CorruptStreamError, InvalidArgumentError, MissingDependencyError
from ._base import RateUnreachableError, bisect_knob

__all__ = ["CompressAICodec", "register_model"]

EXTRA_HINT = "pip install 'wavecodec[learned]' (torch and compressai; CPU torch: pip install torch==2.13.0)"
PAD = 64  # the zoo models downsample 2**6 times (hyperprior included)
_KIND_ZOO, _KIND_CHECKPOINT, _KIND_BOUND = 0, 1, 2
_MAX_STRINGS = 16


def _import_torch():
    try:
        import torch
        import compressai  # noqa: F401
        from compressai.zoo import image_models
        from compressai.zoo.image import model_architectures
    except Exception as exc:  # ImportError, or a broken torch/torchvision pair (RuntimeError)
        raise MissingDependencyError(
            f"codec 'compressai' needs torch and compressai, which cannot be imported here"
            f" ({type(exc).__name__}: {exc}); {EXTRA_HINT}"
        ) from None
    return torch, image_models, model_architectures


def _check_quality(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= 8:
        raise InvalidArgumentError(f"quality must be None (search the rate) or an int in 1..8, got {value!r}")
    return int(value)


def _check_checkpoint(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)) or not os.path.isfile(value):
        raise InvalidArgumentError(f"checkpoint must be the path of an existing file, got {value!r}")
    path = os.fspath(value)
    if len(path.encode("utf-8")) > 255 or not path.isascii():
        raise InvalidArgumentError(f"checkpoint path must be ASCII and at most 255 bytes: {path!r}")
    return path


def _sha8(path: str) -> bytes:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.digest()[:8]


class CompressAICodec(Codec):
    """CompressAI learned codec (zoo model, local checkpoint, or a bound in-memory model)."""

    name = "compressai"
    description = "learned codecs from CompressAI (zoo or checkpoint), strings packed in the container"
    reference = "J. Bégaint et al., 'CompressAI: a PyTorch library and evaluation platform for end-to-end compression research', arXiv:2011.03029, 2020"
    capabilities = Capabilities(embedded=False, lossless=False, colour=True, dtypes=("uint8",), max_bit_depth=8)
    options = (
        Option("model", "bmshj2018-factorized", "CompressAI zoo architecture (compressai.zoo.image_models)"),
        Option("metric", "mse", "training metric of the zoo weights", choices=("mse", "ms-ssim")),
        Option("quality", None, "zoo quality 1..8; None = the highest that fits the rate (3 without a rate)",
               check=_check_quality),
        Option("checkpoint", None, "local state-dict file of the `model` architecture instead of the zoo weights",
               check=_check_checkpoint),
    )

    def __init__(self, name: str | None = None, model: Any = None, description: str | None = None):
        if name is not None:
            self.name = name
        self._bound = model
        if model is not None:
            self.options = ()
            self.description = description or f"CompressAI model {type(model).__name__} (bound in memory)"
        self._cache: dict[tuple, Any] = {}

    @classmethod
    def missing_dependency(cls) -> str | None:
        """Cheap check (no import of torch): both packages are installed."""
        for mod in ("torch", "compressai"):
            if importlib.util.find_spec(mod) is None:
                return f"codec 'compressai' needs the optional dependency {mod!r}; {EXTRA_HINT}"
        return None

    # ---------------------------------------------------------------- models
    def _model(self, kind: int, arch: str, metric: str, quality: int, checkpoint: str, digest: bytes | None) -> Any:
        if kind == _KIND_BOUND:
            if self._bound is None:
                raise CorruptStreamError(f"{self.name}: stream needs a bound model, and this codec has none")
            return self._bound
        torch, image_models, architectures = _import_torch()
        key = (kind, arch, metric, quality, checkpoint)
        if key in self._cache:
            return self._cache[key]
        if arch not in image_models:
            raise InvalidArgumentError(f"{self.name}: unknown model {arch!r}; zoo models: {', '.join(sorted(image_models))}")
        if kind == _KIND_CHECKPOINT:
            if not os.path.isfile(checkpoint):
                raise MissingDependencyError(f"{self.name}: the stream needs the checkpoint file {checkpoint!r}, which is missing")
            if digest is not None and _sha8(checkpoint) != digest:
                raise CorruptStreamError(f"{self.name}: checkpoint {checkpoint!r} is not the file the stream was made with (SHA-256 differs)")
            state = torch.load(checkpoint, map_location="cpu", weights_only=True)
            if isinstance(state, dict) and "state_dict" in state:
                state = state["state_dict"]
            state = {k[7:] if k.startswith("module.") else k: v for k, v in state.items()}
            model = architectures[arch].from_state_dict(state)
        else:
            try:
                model = image_models[arch](quality=quality, metric=metric, pretrained=True, progress=False)
            except Exception as exc:  # noqa: BLE001 - download or zoo errors
                raise MissingDependencyError(
                    f"{self.name}: pretrained weights of {arch} (metric {metric}, quality {quality}) could not be"
                    f" loaded ({type(exc).__name__}: {exc}); download them once with network access or pass checkpoint="
                ) from None
        model.eval()
        model.update(force=True)
        self._cache[key] = model
        return model

    # ---------------------------------------------------------------- coding
    @staticmethod
    def _tensor(pixels: np.ndarray):
        import torch
        import torch.nn.functional as F

        x = torch.from_numpy(np.ascontiguousarray(pixels)).to(torch.float32).div(255.0)
        x = x.permute(2, 0, 1).unsqueeze(0)
        if x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)
        h, w = x.shape[-2:]
        ph, pw = (-h) % PAD, (-w) % PAD
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="replicate")
        return x

    def _compress(self, model: Any, pixels: np.ndarray) -> tuple[list[int], list[bytes]]:
        import torch

        with torch.no_grad():
            out = model.compress(self._tensor(pixels))
        strings = []
        for group in out["strings"]:
            if len(group) != 1:
                raise InvalidArgumentError(f"{self.name}: expected one string per latent for a batch of one")
            strings.append(bytes(group[0]))
        return [int(s) for s in out["shape"]], strings

    def _pack(self, kind, arch, metric, quality, checkpoint, shape, strings) -> tuple[bytes, bytes]:
        w = ParamWriter().u8(kind).text(arch).text(metric).u8(quality).text(checkpoint)
        digest = _sha8(checkpoint) if kind == _KIND_CHECKPOINT else b"\0" * 8
        for k in range(8):
            w.u8(digest[k])
        w.u8(len(shape))
        for s in shape:
            w.i32(s)
        w.u8(len(strings))
        payload = b"".join(struct.pack("<I", len(s)) + s for s in strings)
        return w.bytes(), payload

    def encode_image(self, image: ImageSpec, target: EncodeTarget, *, lossless: bool, options: Mapping[str, Any]) -> tuple[bytes, bytes]:
        if self._bound is not None:
            _import_torch()
            kind, arch, metric, checkpoint = _KIND_BOUND, type(self._bound).__name__[:64], "", ""
        else:
            kind = _KIND_CHECKPOINT if options["checkpoint"] else _KIND_ZOO
            arch, metric, checkpoint = str(options["model"]), options["metric"], options["checkpoint"] or ""

        def at(quality: int) -> tuple[bytes, bytes]:
            model = self._model(kind, arch, metric, quality, checkpoint, None)
            shape, strings = self._compress(model, image.pixels)
            return self._pack(kind, arch, metric, quality, checkpoint, shape, strings)

        quality = options.get("quality") if self._bound is None else 0
        fixed = self._bound is not None or kind == _KIND_CHECKPOINT or quality is not None or target.max_bytes is None
        if fixed:
            params, payload = at(int(quality if quality is not None else 3))
            budget = target.payload_budget(params)
            if budget is not None and len(payload) > budget:
                raise RateUnreachableError(self.name, target.max_bytes, target.stream_length(len(params), len(payload)),
                                           image.height, image.width)
            return params, payload
        results: dict[int, tuple[bytes, bytes]] = {}

        def stream(q: float) -> bytes:
            results[int(q)] = at(int(q))
            params, payload = results[int(q)]
            return b"\0" * (target.max_bytes - target.payload_budget(params)) + payload  # whole-stream size

        found = bisect_knob(stream, target.max_bytes, 1, 8, integer=True)
        if found is None:
            params, payload = results[1]
            raise RateUnreachableError(self.name, target.max_bytes, target.stream_length(len(params), len(payload)),
                                       image.height, image.width)
        return results[int(found[0])]

    def _read(self, header: Header) -> tuple:
        r = ParamReader(header.params, self.name)
        kind = r.u8("kind", 0, 2)
        arch, metric = r.text("model"), r.text("metric")
        quality = r.u8("quality", 0, 8)
        checkpoint = r.text("checkpoint")
        digest = bytes(r.u8("checkpoint digest") for _ in range(8))
        shape = [r.i32("latent shape") for _ in range(r.u8("latent rank", 1, 4))]
        nstrings = r.u8("string count", 1, _MAX_STRINGS)
        r.end()
        if any(not 1 <= s <= 1 << 16 for s in shape):
            raise CorruptStreamError(f"{self.name}: latent shape {shape} out of range")
        return kind, arch, metric, quality, checkpoint, digest, shape, nstrings

    def decode_image(self, header: Header, payload: bytes) -> np.ndarray:
        kind, arch, metric, quality, checkpoint, digest, shape, nstrings = self._read(header)
        if (kind == _KIND_BOUND) != (self._bound is not None):
            raise CorruptStreamError(f"{self.name}: stream kind {kind} does not match this codec")
        lat_h, lat_w = -(-header.height // PAD) * PAD, -(-header.width // PAD) * PAD
        if shape[0] * PAD < lat_h // 4 or shape[0] > lat_h or (len(shape) > 1 and shape[1] > lat_w):
            raise CorruptStreamError(f"{self.name}: latent shape {shape} does not fit a {header.height}x{header.width} image")
        strings, pos = [], 0
        for _ in range(nstrings):
            if pos + 4 > len(payload):
                raise CorruptStreamError(f"{self.name}: payload ends inside a string length")
            (n,) = struct.unpack("<I", payload[pos : pos + 4])
            if pos + 4 + n > len(payload):
                raise CorruptStreamError(f"{self.name}: string of {n} bytes runs past the payload")
            strings.append([bytes(payload[pos + 4 : pos + 4 + n])])
            pos += 4 + n
        if pos != len(payload):
            raise CorruptStreamError(f"{self.name}: {len(payload) - pos} trailing payload bytes")
        model = self._model(kind, arch, metric, quality, checkpoint, digest)
        import torch

        try:
            with torch.no_grad():
                x_hat = model.decompress(strings, shape)["x_hat"]
        except Exception as exc:  # noqa: BLE001 - rANS / shape errors on corrupt input
            raise CorruptStreamError(f"corrupt {self.name} payload: {type(exc).__name__}: {exc}") from exc
        x = x_hat[0, :, : header.height, : header.width].clamp(0, 1).mul(255.0).round()
        out = np.nan_to_num(x.permute(1, 2, 0).numpy(), nan=0.0)  # corrupt latents can decode to NaN
        if out.shape[:2] != (header.height, header.width):
            raise CorruptStreamError(f"{self.name}: model output {out.shape} is smaller than the image")
        if header.channels == 1:
            out = np.rint(out.mean(axis=2, keepdims=True))
        return np.clip(out, 0, 255).astype(np.uint8)

    def describe(self, header: Header) -> dict[str, Any]:
        kind, arch, metric, quality, checkpoint, _, shape, nstrings = self._read(header)
        d: dict[str, Any] = {"model": arch, "latent_shape": tuple(shape), "strings": nstrings}
        if kind == _KIND_ZOO:
            d.update(metric=metric, quality=quality)
        elif kind == _KIND_CHECKPOINT:
            d["checkpoint"] = checkpoint
        return d


def register_model(name: str, model: Any, description: str | None = None) -> CompressAICodec:
    """Register an in-memory CompressAI model (``update()`` already called or not) as codec ``name``.

    Streams of this codec decode only where the same model is registered under the same name.
    """
    _import_torch()
    model.eval()
    model.update(force=True)
    return register(CompressAICodec(name=name, model=model, description=description))
