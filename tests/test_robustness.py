"""Robustness of the decoder against corrupt, truncated, forged and random input.

Every case must either decode to an array of the shape and dtype that the (possibly
forged) header declares, or raise WavecodecError: never another exception, a crash,
a hang, or an allocation sized by an unchecked header field (the peak memory of every
decode is bounded by the samples its header declares, measured with tracemalloc: a
deterministic stand-in for a time limit).  All cases are seeded.

The same checks on every registered codec (truncated, flipped, spliced and random
streams) are in ``tests/test_contract.py``; this file forges SPIHT's own header fields.
"""

from __future__ import annotations

import dataclasses
import tracemalloc

import numpy as np
import pytest

import wavecodec
from wavecodec import _container as C
from wavecodec import transform as T
from wavecodec.errors import CorruptStreamError, WavecodecError

from conftest import check_decode, make_image, restream, spiht_plan



def _images():
    return {
        "gray": make_image(24, 31, seed=31),
        "rgb": make_image(16, 21, 3, seed=32),
        "gray16": make_image(9, 13, dtype=np.uint16, seed=33),
        "rgb16": make_image(5, 7, 3, dtype=np.uint16, bit_depth=12, seed=34),
        "tiny": make_image(1, 1, seed=35),
        "3x3": make_image(3, 3, seed=36),
        "gray1": make_image(6, 11, seed=37)[:, :, None],
    }


@pytest.fixture(scope="module")
def streams() -> list[bytes]:
    out = []
    for img in _images().values():
        for variant in ("ac", "binary"):
            for lossless in (False, True):
                full = wavecodec.encode(img, variant=variant, lossless=lossless)
                out.append(full)
                header = wavecodec.info(full).header_size
                if len(full) > header + 8:
                    out.append(wavecodec.encode(img, variant=variant, lossless=lossless,
                                                max_bytes=header + (len(full) - header) // 3))
    return out


# =============================================================================== random corruption


def test_payload_only_flips_still_decode(streams):
    # the header is intact, so every payload corruption decodes (an embedded payload has no redundancy)
    rng = np.random.default_rng(1002)
    for _ in range(40):
        data = bytearray(streams[rng.integers(len(streams))])
        hlen = wavecodec.info(bytes(data)).header_size
        if len(data) == hlen:
            continue
        for _ in range(rng.integers(1, 8)):
            data[rng.integers(hlen, len(data))] = rng.integers(256)
        assert check_decode(bytes(data)) == "ok"


# =============================================================================== forged header fields


def _reparam(data: bytes, **changes) -> bytes:
    plan = spiht_plan(data)
    header, _ = C.parse(data, max_samples=1 << 62)
    lossless = changes.pop("_pack_lossless", header.lossless)
    plan = dataclasses.replace(plan, **changes)
    return restream(data, params=plan.pack(lossless))


def _by_name(streams, **want) -> list[bytes]:
    out = []
    for s in streams:
        info = wavecodec.info(s)
        if all(getattr(info, k) == v for k, v in want.items()):
            out.append(s)
    return out


def test_levels_beyond_the_image_are_rejected(streams):
    small = wavecodec.encode(make_image(3, 3, seed=1), levels=0)
    for levels in (3, 4, 12):
        assert levels > T.max_levels(3, 3)
        with pytest.raises(CorruptStreamError, match="levels"):
            wavecodec.decode(_reparam(small, levels=levels))
    for s in streams:
        info = wavecodec.info(s)
        top = T.max_levels(*info.shape[:2])
        for levels in (0, 1, top):
            check_decode(_reparam(s, levels=levels))
        with pytest.raises(CorruptStreamError):
            wavecodec.decode(_reparam(s, levels=top + 1))


def test_forged_plan_fields(streams):
    rng = np.random.default_rng(1006)
    forged = []
    for s in streams:
        forged += [
            _reparam(s, n_max=30),
            _reparam(s, n_max=29),
            _reparam(s, n_max=-1),
            _reparam(s, n_max=0),
            _reparam(s, frac_bits=0),
            _reparam(s, frac_bits=8),
            _reparam(s, recon=(0, 0)),
            _reparam(s, recon=(255, 255)),
            _reparam(s, wavelet="haar"),
            _reparam(s, wavelet="db38"),
            _reparam(s, wavelet="legall53"),
            _reparam(s, wavelet="cdf97"),
            _reparam(s, variant="plain" if spiht_plan(s).variant == "ac" else "ac"),
        ]
    results = [check_decode(d) for d in forged]
    assert results.count("ok") > len(results) // 2
    # random combinations
    for _ in range(60):
        s = streams[rng.integers(len(streams))]
        plan = spiht_plan(s)
        changes = {}
        if rng.random() < 0.5:
            changes["n_max"] = int(rng.integers(-1, 31))
        if rng.random() < 0.3:
            changes["frac_bits"] = int(rng.integers(0, 9))
        if rng.random() < 0.3:
            changes["recon"] = (int(rng.integers(256)), int(rng.integers(256)))
        if rng.random() < 0.3:
            changes["levels"] = int(rng.integers(0, T.max_levels(*wavecodec.info(s).shape[:2]) + 1))
        if rng.random() < 0.3:
            changes["offsets"] = [float(rng.normal(0, 1e5)) if not wavecodec.info(s).lossless
                                  else int(rng.integers(-2**31, 2**31)) for _ in plan.offsets]
        check_decode(_reparam(s, **changes))


def test_forged_plan_fields_that_must_be_rejected(streams):
    for s in streams:
        info = wavecodec.info(s)
        plan = spiht_plan(s)
        bad = [
            _reparam(s, wavelet="garbage"),
            _reparam(s, wavelet=""),
            _reparam(s, wavelet="x" * 255),
            _reparam(s, offsets=plan.offsets + [0]),  # one offset too many (trailing bytes)
            _reparam(s, offsets=plan.offsets[:-1]),  # one too few
        ]
        if not info.lossless:
            bad += [_reparam(s, offsets=[float("nan")] * len(plan.offsets)),
                    _reparam(s, offsets=[1e30] * len(plan.offsets))]
        params = C.parse(s)[0].params
        bad += [
            restream(s, params=params[:-1]),
            restream(s, params=params + b"\x00"),
            restream(s, params=b""),
            restream(s, params=bytes([7]) + params[1:]),  # variant code 7
        ]
        for d in bad:
            with pytest.raises(CorruptStreamError):
                wavecodec.decode(d)
            check_decode(d)


def test_declared_payload_length_mismatch(streams):
    for s in streams[::3]:
        h, payload = C.parse(s)
        packed = C.pack(h, bytes(payload) + bytes(50))  # declares 50 bytes more than will be present
        longer = packed[: C.parse(packed)[0].header_length + len(payload)]
        assert check_decode(longer) == "ok"
        shorter_decl = restream(s, payload=payload[: len(payload) // 2]) + payload[len(payload) // 2:]
        assert check_decode(shorter_decl) == "ok"


def test_large_declared_sizes():
    # large but legal sizes with nothing in the payload decode to a flat image, quickly
    params_src = wavecodec.encode(make_image(300, 400, seed=3), bpp=0.01)
    plan = spiht_plan(params_src)
    for h, w in ((300, 400), (1, 4000), (4000, 1), (512, 512)):
        levels = min(plan.levels, T.max_levels(h, w))
        d = restream(params_src, height=h, width=w, params=dataclasses.replace(plan, levels=levels).pack(False),
                     payload=b"")
        assert check_decode(d, max_samples=1 << 20) == "ok"
    # over the decoder limit: refused before anything is allocated
    d = restream(params_src, height=C.MAX_SIDE, width=C.MAX_SIDE, payload=b"")
    with pytest.raises(CorruptStreamError, match="limit"):
        wavecodec.decode(d)
    with pytest.raises(CorruptStreamError, match="limit"):
        wavecodec.decode(restream(params_src, height=5000, width=5000), max_samples=1 << 20)


def test_decoder_memory_is_bounded_by_the_image_size():
    # A 1x1024 image (1 KB of pixels) with the most levels its size allows: the header
    # passes every check, so the decoder must not allocate far more than the image needs
    # (the tree layout must not blow the coefficient array up to thousands of times the image).
    img = make_image(1, 1024, seed=9)
    data = wavecodec.encode(img, bpp=4.0, levels=1)
    forged = _reparam(data, levels=T.max_levels(1, 1024))
    tracemalloc.start()
    try:
        try:
            out = wavecodec.decode(forged)
            assert out.shape == (1, 1024)
        except WavecodecError:
            pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"decoding a 1x1024 image allocated {peak / 2**20:.0f} MiB"


