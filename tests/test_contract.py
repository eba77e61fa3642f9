"""One contract for every codec (project issue 12).

Every test here is parametrised over every codec that :func:`wavecodec.codecs` returns,
plus every declared plug-in that cannot load here (skipped, with the registry's reason,
which names the pip command that installs it).  What a codec can do, its
:attr:`wavecodec.Codec.capabilities` (embedded, lossless, colour, dtypes,
max_bit_depth), decides which checks apply, and every option with a fixed set of
``choices`` is exercised value by value, so a new codec is covered by registering it.
The only codec-specific knowledge is in :func:`usable`: a codec that cannot make a
stream here (a learned codec without its model, a library build without the format)
says so with :class:`wavecodec.MissingDependencyError` and is skipped with that reason.

The contract:

* ``test_round_trip``: shape (the ``(H, W, 1)`` axis included) and dtype are kept for
  gray, colour and uint16 images from 1x1 up; lossless is bit-exact (noise included);
  a full-quality or raw-rate decode is close to the input, a low-rate one beats a flat
  image; what the capabilities exclude is refused;
* ``test_constant_and_extreme_images``: flat images come back (nearly) flat, full-range
  checkerboards round-trip;
* ``test_byte_budget``: from 1x1 to odd and non-square sizes and from very low to high
  rates, the stream never exceeds the budget, or a ``RateUnreachableError`` names the
  size of the smallest stream (and a stream of that size can be made); the embedded
  codecs meet every budget as large as their header, fill it, and give the full stream
  (or one at least as good) for any budget at least as large;
* ``test_info``: every :class:`wavecodec.StreamInfo` field, for whole and cut streams;
* ``test_prefixes``: embedded codecs decode every prefix of a stream byte by byte, the
  others raise ``TruncatedStreamError``;
* ``test_option_choices``: every value of every option with a fixed set of choices
  meets the same contract (round trip, budgets, lossless, prefixes, determinism);
* ``test_corrupt_streams``: truncated, bit-flipped, spliced, forged and random streams
  (490 per codec, seeded) raise only ``WavecodecError`` subclasses or decode to an image
  of the header's shape and dtype;
* ``test_determinism``: the same image and options give the same bytes.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

import wavecodec
from wavecodec import _container as C
from wavecodec import plugins
from wavecodec.errors import (
    CorruptStreamError,
    InvalidArgumentError,
    MissingDependencyError,
    RateUnreachableError,
    TruncatedStreamError,
    UnsupportedImageError,
)

from conftest import check_decode, make_image, psnr, raw_header, restream



# =============================================================================== which codecs


def _codec_params() -> list:
    params = [pytest.param(name, id=name) for name in wavecodec.codecs()]
    for name, reason in plugins.unavailable().items():
        params.append(pytest.param(name, id=name, marks=pytest.mark.skip(reason=f"{name} unavailable: {reason}")))
    return params


ALL = pytest.mark.parametrize("name", _codec_params())


@functools.lru_cache(maxsize=None)
def usable(name: str) -> str | None:
    """``None`` if ``name`` can encode here, else why not (a MissingDependencyError raised at encode time)."""
    try:
        wavecodec.encode(make_image(8, 8, seed=0), name)
    except MissingDependencyError as exc:
        return str(exc)
    return None


@pytest.fixture
def codec(name: str) -> wavecodec.Codec:
    reason = usable(name)
    if reason is not None:
        pytest.skip(f"{name} cannot encode here: {reason}")
    return wavecodec.get_codec(name)


def test_unavailable_codecs_name_their_install_command():
    for name, reason in plugins.unavailable().items():
        assert "pip install" in reason, (name, reason)


def test_missing_dependencies_of_every_declared_plugin_name_the_install_command(monkeypatch):
    """Every built-in adapter, its library absent, gives a reason with the pip command."""
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a, **k: None)
    for name, value in plugins.BUILTIN_ADAPTERS.items():
        cls = plugins._resolve(value)
        reason = cls.missing_dependency()
        assert reason and "pip install 'wavecodec[" in reason, (name, reason)


def test_plugins_that_cannot_load_name_the_install_command(monkeypatch):
    """The reasons the registry gives for plug-ins that fail to import or to load name a pip command."""
    from wavecodec import _registry

    monkeypatch.setattr(_registry, "_UNAVAILABLE", {})
    monkeypatch.setattr(plugins, "_LOADED", {})
    for name in plugins.BUILTIN_ADAPTERS:
        assert plugins.load_plugin(name, "wavecodec_no_such_module:Codec") is None
        assert "pip install 'wavecodec[" in _registry._UNAVAILABLE[name], _registry._UNAVAILABLE[name]
    assert plugins.load_plugin("third", "wavecodec_no_such_module:Codec", source="third-dist") is None
    assert "pip install third-dist" in _registry._UNAVAILABLE["third"]
    with pytest.warns(RuntimeWarning, match="pip install --upgrade broken-dist"):
        assert plugins.load_plugin("broken", "wavecodec.errors:WavecodecError", source="broken-dist") is None
    assert "pip install --upgrade broken-dist" in _registry._UNAVAILABLE["broken"]


# =============================================================================== images


def image(h: int, w: int, layout: str = "gray", *, dtype=np.uint8, bit_depth: int | None = None,
          seed: int = 0) -> np.ndarray:
    """A seeded test image: layout 'gray' (H, W), 'gray1' (H, W, 1) or 'rgb' (H, W, 3)."""
    img = make_image(h, w, 3 if layout == "rgb" else None, dtype=dtype, bit_depth=bit_depth, seed=seed)
    img = img[:, :, None] if layout == "gray1" else img
    img.flags.writeable = False
    return img


def noise(shape: tuple, dtype, bit_depth: int, seed: int) -> np.ndarray:
    """Uniform noise over the whole sample range (the hardest image to code losslessly)."""
    return np.random.default_rng(seed).integers(0, 1 << bit_depth, size=shape).astype(dtype)


def peak(img: np.ndarray, bit_depth: int | None = None) -> float:
    return float((1 << (bit_depth or (8 if img.dtype == np.uint8 else 16))) - 1)


def depths(codec: wavecodec.Codec) -> dict[str, int]:
    """Sample type -> the bit depth to test it at (the type's, capped by max_bit_depth; 12 for uint16 gray)."""
    caps = codec.capabilities
    out = {}
    for dtype in ("uint8", "uint16"):
        if dtype in caps.dtypes:
            out[dtype] = min(caps.max_bit_depth, np.dtype(dtype).itemsize * 8)
    assert out, f"{codec.name} codes none of uint8, uint16"
    return out


def cases(codec: wavecodec.Codec, h: int = 24, w: int = 20) -> dict[str, tuple[np.ndarray, int | None]]:
    """The images a codec's capabilities call for: name -> (image, bit_depth to pass, None = the default)."""
    caps = codec.capabilities
    out: dict[str, tuple[np.ndarray, int | None]] = {}
    bits = depths(codec)
    if "uint8" in bits:
        bd = None if bits["uint8"] == 8 else bits["uint8"]
        out["gray"] = (image(h, w, bit_depth=bd, seed=1), bd)
        out["gray1"] = (image(h - 3, w + 1, "gray1", bit_depth=bd, seed=2), bd)
        if caps.colour:
            out["rgb"] = (image(h - 7, w - 3, "rgb", bit_depth=bd, seed=3), bd)
    if "uint16" in bits:
        bd = min(12, bits["uint16"])
        out["gray16"] = (image(h - 5, w + 3, dtype=np.uint16, bit_depth=bd, seed=4), bd)
        out["gray16-1"] = (image(h - 9, w - 5, "gray1", dtype=np.uint16, bit_depth=bd, seed=6), bd)
        if caps.colour:
            bd = bits["uint16"]
            out["rgb16"] = (image(h - 11, w - 7, "rgb", dtype=np.uint16, bit_depth=bd, seed=5), bd)
    return out


def layouts(codec: wavecodec.Codec) -> list[str]:
    return ["gray"] + (["rgb"] if codec.capabilities.colour else [])


def channels_of(img: np.ndarray) -> int:
    return img.shape[2] if img.ndim == 3 else 1


def budget_of(img: np.ndarray, bpp: float) -> int:
    return int(math.floor(bpp * img.shape[0] * img.shape[1] / 8))


# =============================================================================== decoding checks


def decode_like(data: bytes, img: np.ndarray, bit_depth: int | None = None) -> np.ndarray:
    """Decode a stream of ``img``: same shape and dtype, samples within the bit depth."""
    out = wavecodec.decode(data)
    assert isinstance(out, np.ndarray)
    assert out.shape == img.shape, (out.shape, img.shape)
    assert out.dtype == img.dtype, (out.dtype, img.dtype)
    assert int(out.max(initial=0)) <= peak(img, bit_depth), "decoded samples exceed the bit depth"
    return out


FULL_QUALITY_DB = 28.0  # full quality (no rate) / the raw rate: every codec is far above this on these images


def better_than_flat(img: np.ndarray, out: np.ndarray, top: float | None = None) -> bool:
    """A decoded image at a low rate must beat the flat image at the input's mean by 1 dB (garbage does not)."""
    flat = np.full(img.shape, np.round(img.mean()), dtype=np.float64)
    return psnr(img, out, top) > psnr(img, flat, top) + 1.0


# =============================================================================== round trip

SIZES = [(1, 1), (1, 7), (7, 1), (2, 3), (17, 5), (33, 47)]


@ALL
def test_round_trip(name, codec):
    caps = codec.capabilities
    for label, (img, bd) in cases(codec).items():
        top = peak(img, bd)
        full_stream = wavecodec.encode(img, name, bit_depth=bd)
        full = decode_like(full_stream, img, bd)
        assert psnr(img, full, top) > FULL_QUALITY_DB, (label, "full quality", psnr(img, full, top))
        for form in (bytearray(full_stream), memoryview(full_stream)):  # bytes-like streams decode alike
            np.testing.assert_array_equal(wavecodec.decode(form), full)
        # the raw size of the samples: far more than any lossy codec needs for a faithful copy
        raw = wavecodec.encode(img, name, bit_depth=bd, bpp=8.0 * img.dtype.itemsize * channels_of(img))
        high = decode_like(raw, img, bd)
        assert psnr(img, high, top) > FULL_QUALITY_DB, (label, "raw rate", psnr(img, high, top))
        try:
            low = decode_like(wavecodec.encode(img, name, bit_depth=bd, bpp=4.0 * channels_of(img)), img, bd)
        except RateUnreachableError:  # formats with large fixed overheads (AVIF) on a tiny image
            assert not caps.embedded
        else:
            assert better_than_flat(img, low, top), (label, "4 bpp per channel", psnr(img, low, top))
        if caps.lossless:
            data = wavecodec.encode(img, name, bit_depth=bd, lossless=True)
            np.testing.assert_array_equal(decode_like(data, img, bd), img, err_msg=f"{name} {label} lossless")
        else:
            with pytest.raises(InvalidArgumentError, match="lossless"):
                wavecodec.encode(img, name, bit_depth=bd, lossless=True)
    # every size from 1x1, at full quality; lossless on noise over the whole sample range
    for h, w in SIZES:
        for layout in layouts(codec):
            img = image(h, w, layout, seed=h * 31 + w)
            decode_like(wavecodec.encode(img, name), img)
            if caps.lossless:
                for dtype, bd in depths(codec).items():
                    rough = noise(img.shape, dtype, bd, seed=h * 7 + w)
                    out = decode_like(wavecodec.encode(rough, name, lossless=True, bit_depth=bd), rough, bd)
                    np.testing.assert_array_equal(out, rough, err_msg=f"{name} {rough.shape} {dtype} lossless")
    # what the capabilities exclude is refused, with UnsupportedImageError
    if not caps.colour:
        with pytest.raises(UnsupportedImageError):
            wavecodec.encode(image(8, 8, "rgb"), name)
    for dtype in ("uint8", "uint16"):
        if dtype not in caps.dtypes:
            with pytest.raises(UnsupportedImageError):
                wavecodec.encode(image(8, 8, dtype=np.dtype(dtype), bit_depth=8), name)
    if "uint16" in caps.dtypes and caps.max_bit_depth < 16:
        with pytest.raises(UnsupportedImageError):
            wavecodec.encode(image(8, 8, dtype=np.uint16, bit_depth=16), name, bit_depth=16)


@ALL
def test_constant_and_extreme_images(name, codec):
    """Flat images come back within a few levels (exact when lossless); full-range checkerboards round-trip."""
    caps = codec.capabilities
    for dtype, bd in depths(codec).items():
        top = (1 << bd) - 1
        for layout in layouts(codec):
            shape = (9, 14, 3) if layout == "rgb" else (9, 14)
            for value in (0, top, top // 3):
                img = np.full(shape, value, dtype)
                out = decode_like(wavecodec.encode(img, name, bit_depth=bd), img, bd)
                assert np.abs(out.astype(np.int64) - value).max() <= max(2, top // 64), (dtype, layout, value)
                if caps.lossless:
                    np.testing.assert_array_equal(
                        decode_like(wavecodec.encode(img, name, bit_depth=bd, lossless=True), img, bd), img)
            checker = (np.indices(shape[:2]).sum(0) % 2 * top).astype(dtype)
            if layout == "rgb":
                checker = np.stack([checker, top - checker, checker], axis=2).astype(dtype)
            decode_like(wavecodec.encode(checker, name, bit_depth=bd), checker, bd)
            if caps.lossless:
                np.testing.assert_array_equal(
                    decode_like(wavecodec.encode(checker, name, bit_depth=bd, lossless=True), checker, bd), checker)


# =============================================================================== byte budget

BUDGET_BPP = [0.01, 0.1, 0.5, 1.0, 3.0, 8.0, 30.0]


def smallest_stream(name: str, img: np.ndarray, **options) -> int:
    """The header-only size, from the RateUnreachableError a budget of one byte raises."""
    with pytest.raises(RateUnreachableError) as exc:
        wavecodec.encode(img, name, max_bytes=1, **options)
    assert exc.value.smallest is not None and exc.value.smallest > 1, str(exc.value)
    assert exc.value.budget == 1
    return exc.value.smallest


@functools.lru_cache(maxsize=None)
def _full_stream(name: str, raw: bytes, shape: tuple, dtype: str, options: tuple) -> bytes:
    return wavecodec.encode(np.frombuffer(raw, dtype=dtype).reshape(shape), name, **dict(options))


def full_stream(name: str, img: np.ndarray, **options) -> bytes:
    return _full_stream(name, img.tobytes(), img.shape, img.dtype.str, tuple(sorted(options.items())))


def encode_within(name: str, codec: wavecodec.Codec, img: np.ndarray, budget: int, header: int, *,
                  fill: bool = True, **options) -> bytes | None:
    """Encode within ``budget`` bytes and check the stream; None where the codec legitimately cannot.

    Legitimate: a RateUnreachableError naming a smallest stream above the budget, which a few
    steps reach (the header is a lower bound); never for an embedded codec at a budget that
    holds its header.  An embedded stream fills its budget (with ``fill``: or decodes at least
    as well as the full stream cut to the budget, the choice every embedded encoder has), and
    any budget at least as large as the full stream gives the full stream or one at least as
    good.  (``fill`` is off for non-default options: SPIHT's step_search='always' may keep a
    shorter, coarser stream that its error estimate prefers near lossless rates.)
    """
    try:
        data = wavecodec.encode(img, name, max_bytes=budget, **options)
    except RateUnreachableError as exc:
        assert exc.smallest is not None and exc.smallest > budget, str(exc)
        assert exc.budget == budget, str(exc)
        if codec.capabilities.embedded:  # an embedded stream can stop anywhere after its header
            assert budget < header, f"{name}: {img.shape} budget {budget} >= header {header}: {exc}"
        smallest = exc.smallest
        for _ in range(3):
            try:
                reached = wavecodec.encode(img, name, max_bytes=smallest, **options)
            except RateUnreachableError as again:
                assert again.smallest > smallest, (str(exc), str(again))
                smallest = again.smallest
            else:
                assert len(reached) <= smallest
                break
        else:
            pytest.fail(f"{name}: {img.shape}: no stream at the sizes its errors name ({exc}; {smallest})")
        return None
    assert len(data) <= budget, f"{name}: {len(data)} > {budget} bytes for {img.shape} {options}"
    out = decode_like(data, img, options.get("bit_depth"))
    if codec.capabilities.embedded:
        full = full_stream(name, img, **options)
        top = peak(img, options.get("bit_depth"))
        if budget >= len(full):  # the full stream, or one at least as good (e.g. with an edge layer)
            if data != full:
                assert psnr(img, out, top) >= psnr(img, wavecodec.decode(full), top), (name, img.shape, budget)
        elif fill and len(data) < budget - 1:  # (a byte may go to the payload-length varint)
            cut = psnr(img, wavecodec.decode(full[:budget]), top)
            assert psnr(img, out, top) >= cut - 0.01, (name, img.shape, budget, len(data), psnr(img, out, top), cut)
    return data


def sweep_budgets(name: str, codec: wavecodec.Codec, img: np.ndarray, rates=BUDGET_BPP, *, fill: bool = True,
                  **options) -> None:
    """Budgets around the header, over ``rates``, where the payload-length varint grows, and
    around the full stream."""
    header = smallest_stream(name, img, **options)
    budgets = {header - 1, header, header + 1, header + 3} | {budget_of(img, bpp) for bpp in rates}
    if codec.capabilities.embedded:
        full = len(full_stream(name, img, **options))
        budgets |= {header + 127, header + 128, header + 129, full - 1, full, full + 1, 10 * full + 1000, 2**40}
    for budget in sorted(b for b in budgets if b >= 1):
        encode_within(name, codec, img, budget, header, fill=fill, **options)


@ALL
def test_byte_budget(name, codec):
    for h, w in SIZES:
        for layout in layouts(codec):
            img = image(h, w, layout, seed=h * 100 + w)
            sweep_budgets(name, codec, img)
            for bpp in (3.0, 30.0):  # bpp gives the budget of max_bytes, rounded down
                try:
                    data = wavecodec.encode(img, name, bpp=bpp)
                except RateUnreachableError as exc:
                    assert exc.smallest > budget_of(img, bpp) == exc.budget
                else:
                    assert len(data) <= budget_of(img, bpp)
                    assert data == wavecodec.encode(img, name, max_bytes=budget_of(img, bpp))
        if codec.capabilities.lossless and (h, w) in ((2, 3), (17, 5)):
            sweep_budgets(name, codec, image(h, w, seed=h + w), rates=(0.5, 4.0, 30.0), lossless=True)
    if "uint16" in codec.capabilities.dtypes:
        bd = depths(codec)["uint16"]
        sweep_budgets(name, codec, image(11, 9, dtype=np.uint16, bit_depth=bd, seed=3), rates=(0.5, 4.0, 30.0),
                      bit_depth=bd)


# =============================================================================== info


@ALL
def test_info(name, codec):
    caps = codec.capabilities
    for label, (img, bd) in cases(codec).items():
        expected_depth = bd if bd is not None else (8 if img.dtype == np.uint8 else int(img.max()).bit_length())
        kinds = [(False, None), (False, 4.0)] + ([(True, None)] if caps.lossless else [])
        for lossless, bpp in kinds:
            try:
                data = wavecodec.encode(img, name, bit_depth=bd, lossless=lossless, bpp=bpp)
            except RateUnreachableError:  # formats with large fixed overheads, on a tiny image
                assert bpp is not None and not caps.embedded
                continue
            info = wavecodec.info(data)
            assert isinstance(info, wavecodec.StreamInfo)
            assert info.codec == name
            assert info.shape == img.shape, (label, info.shape)
            assert info.dtype == img.dtype.name
            assert info.bit_depth == expected_depth, (label, info.bit_depth, expected_depth)
            assert info.lossless is lossless
            assert info.embedded is caps.embedded
            assert info.header_size + info.payload_size == len(data)
            assert info.payload_present == info.payload_size and not info.truncated
            assert info.bpp() == pytest.approx(8.0 * len(data) / (img.shape[0] * img.shape[1]))
            if bpp is not None:
                assert info.bpp() <= bpp
            assert isinstance(info.params, dict)
            text = str(info)
            assert name in text and str(img.shape[0]) in text and "truncated" not in text
            # bytes-like input, and a stream cut inside its payload or its header
            assert wavecodec.info(memoryview(data)) == info == wavecodec.info(bytearray(data))
            if info.payload_size:
                cut = wavecodec.info(data[: info.header_size + info.payload_size // 2])
                assert cut.payload_present == info.payload_size // 2 and cut.truncated
                assert cut.payload_size == info.payload_size and cut.shape == info.shape
                assert "truncated" in str(cut)
            assert wavecodec.info(data[: info.header_size]).payload_present == 0
            with pytest.raises(CorruptStreamError):
                wavecodec.info(data[: info.header_size - 1])


# =============================================================================== prefixes


def check_prefixes(name: str, img: np.ndarray, data: bytes, *, bit_depth: int | None = None,
                   lossless: bool = False) -> None:
    """Every cut of ``data``: inside the header an error; after it, embedded codecs decode
    (never better than the whole stream, better on average the longer), others raise
    TruncatedStreamError."""
    codec = wavecodec.get_codec(name)
    header = wavecodec.info(data).header_size
    for cut in range(header):
        with pytest.raises(CorruptStreamError):
            wavecodec.decode(data[:cut])
    top = peak(img, bit_depth)
    whole = decode_like(data, img, bit_depth)
    if lossless:
        np.testing.assert_array_equal(whole, img)
    full = psnr(img, whole, top)
    if not codec.capabilities.embedded:
        for cut in sorted({header, header + 1, (header + len(data)) // 2, len(data) - 1} - {len(data)}):
            with pytest.raises(TruncatedStreamError):
                wavecodec.decode(data[:cut])
        return
    qualities = []
    for cut in range(header, len(data) + 1):
        out = decode_like(data[:cut], img, bit_depth)
        q = psnr(img, out, top)
        assert q <= full + 1e-9, (name, img.shape, cut, q, full)
        qualities.append(min(q, 200.0))
    n = len(qualities)
    if n >= 8:
        assert np.mean(qualities[n // 2:]) > np.mean(qualities[: n // 2]), (name, img.shape, qualities)


@ALL
def test_prefixes(name, codec):
    caps = codec.capabilities
    rate = {"bpp": 4.0} if caps.embedded else {}  # embedded: a stream of a few hundred bytes
    gray = image(24, 20, seed=11)
    check_prefixes(name, gray, wavecodec.encode(gray, name, **rate))
    if caps.colour:
        rgb = image(12, 10, "rgb", seed=12)
        check_prefixes(name, rgb, wavecodec.encode(rgb, name, **rate))
    if "uint16" in caps.dtypes:
        bd = min(12, caps.max_bit_depth)
        g16 = image(7, 6, dtype=np.uint16, bit_depth=bd, seed=14)
        check_prefixes(name, g16, wavecodec.encode(g16, name, bit_depth=bd), bit_depth=bd)
    if caps.lossless:
        small = image(9, 7, seed=13)
        check_prefixes(name, small, wavecodec.encode(small, name, lossless=True), lossless=True)
        if "uint16" in caps.dtypes:
            check_prefixes(name, g16, wavecodec.encode(g16, name, lossless=True, bit_depth=bd), lossless=True,
                           bit_depth=bd)


# =============================================================================== option choices


def choice_options(codec: wavecodec.Codec) -> list[dict]:
    """One option set per non-default value of every option with a fixed set of choices."""
    out = []
    for opt in codec.options:
        for value in opt.choices or ():
            if value != opt.default:
                out.append({opt.name: value})
    return out


@ALL
def test_option_choices(name, codec):
    caps = codec.capabilities
    gray = image(20, 18, seed=21)
    imgs = [gray] + ([image(11, 13, "rgb", seed=22)] if caps.colour else [])
    for opts in choice_options(codec):
        for img in imgs:
            full = wavecodec.encode(img, name, **opts)
            assert psnr(img, decode_like(full, img)) > FULL_QUALITY_DB, (opts, "full quality")
            header = smallest_stream(name, img, **opts)
            budget = budget_of(img, 4.0 * channels_of(img))
            data = encode_within(name, codec, img, budget, header, fill=False, **opts)
            if data is not None:
                assert better_than_flat(img, wavecodec.decode(data)), (opts, psnr(img, wavecodec.decode(data)))
                assert wavecodec.encode(np.array(img), name, max_bytes=budget, **opts) == data, opts
        for h, w in ((1, 1), (2, 3), (17, 5)):
            sweep_budgets(name, codec, image(h, w, seed=h + w), rates=(0.5, 4.0, 30.0), fill=False, **opts)
        if caps.embedded:
            small = image(10, 9, seed=23)
            check_prefixes(name, small, wavecodec.encode(small, name, bpp=6.0, **opts))
        if caps.lossless:
            for img in (noise((7, 6), np.uint8, 8, seed=24), noise((5, 4, 3) if caps.colour else (5, 4), np.uint8, 8, 25),
                        (np.indices((6, 7)).sum(0) % 2 * 255).astype(np.uint8)):
                data = wavecodec.encode(img, name, lossless=True, **opts)
                np.testing.assert_array_equal(decode_like(data, img), img, err_msg=str(opts))
                if caps.embedded and img.ndim == 2 and img.shape == (7, 6):
                    check_prefixes(name, img, data, lossless=True)


# =============================================================================== corruption


def corpus(name: str, codec: wavecodec.Codec) -> list[bytes]:
    """Small streams of every kind the codec makes: each image case, at full quality, at a
    rate and lossless, plus one per non-default option choice (32x32 at 2 bpp, where
    options that only act at a rate, such as an edge layer, come into play)."""
    out = []
    for img, bd in cases(codec, 12, 10).values():
        out.append(wavecodec.encode(img, name, bit_depth=bd))
        try:
            out.append(wavecodec.encode(img, name, bit_depth=bd, bpp=2.0 * channels_of(img)))
        except RateUnreachableError:
            pass
        if codec.capabilities.lossless:
            out.append(wavecodec.encode(img, name, bit_depth=bd, lossless=True))
    medium = image(32, 32, seed=31)
    for opts in [{}] + choice_options(codec):
        try:
            out.append(wavecodec.encode(medium, name, bpp=2.0, **opts))
        except RateUnreachableError:
            out.append(wavecodec.encode(medium, name, **opts))
    return out


def header_size(data: bytes) -> int:
    return C.parse(data, max_samples=1 << 62)[0].header_length


@ALL
def test_corrupt_streams(name, codec):
    rng = np.random.default_rng(sum(name.encode()))
    streams = corpus(name, codec)
    embedded = codec.capabilities.embedded
    results: list[str] = []

    def pick() -> bytes:
        return streams[int(rng.integers(len(streams)))]

    # truncations: inside the header an error; after it, embedded codecs decode, others say truncated
    for _ in range(40):
        data = pick()
        cut = int(rng.integers(len(data) + 1))
        result = check_decode(data[:cut])
        if cut < header_size(data):
            assert result == "error"
        elif cut < len(data) and not embedded:
            with pytest.raises(TruncatedStreamError):
                wavecodec.decode(data[:cut])
        elif embedded:
            assert result == "ok", (cut, header_size(data), len(data))
        results.append(result)
    # bit flips in the header: the CRC catches every one
    for _ in range(40):
        data = bytearray(pick())
        pos = int(rng.integers(header_size(bytes(data))))
        data[pos] ^= 1 << int(rng.integers(8))
        assert check_decode(bytes(data)) == "error", pos
    # bit flips and byte changes in the payload (three in four) and anywhere
    for k in range(100):
        data = bytearray(pick())
        hlen = header_size(bytes(data))
        lo = hlen if k % 4 and len(data) > hlen else 0
        for _ in range(int(rng.integers(1, 5))):
            pos = int(rng.integers(lo, len(data)))
            data[pos] ^= (1 << int(rng.integers(8))) if rng.random() < 0.7 else int(rng.integers(1, 256))
        results.append(check_decode(bytes(data)))
    # splices: the header of one stream with the payload of another
    for _ in range(30):
        a, b = pick(), pick()
        payload_b = b[header_size(b):]
        results.append(check_decode(a[: header_size(a)] + payload_b))  # the payload length a's header declares
        results.append(check_decode(restream(a, payload=payload_b)))  # a's header declaring b's payload length
    # splices: two payloads joined at random cut points
    for _ in range(30):
        a, b = pick(), pick()
        pa, pb = a[header_size(a):], b[header_size(b):]
        joined = pa[: int(rng.integers(len(pa) + 1))] + pb[int(rng.integers(len(pb) + 1)):]
        results.append(check_decode(a[: header_size(a)] + joined))
        results.append(check_decode(restream(a, payload=joined)))
    # random bytes: no header, or a plausible start; the CRC refuses them all
    for k in range(20):
        junk = bytearray(rng.integers(0, 256, int(rng.integers(0, 300)), dtype=np.uint8).tobytes())
        if k % 2:
            junk[:4] = b"WVC\x01"
        assert check_decode(bytes(junk)) == "error"
    # a valid header with a random, zero or 0xFF payload (declared length kept or matched)
    for k in range(40):
        data = pick()
        n = int(rng.integers(0, 300))
        payload = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        if k % 5 == 0:
            payload = bytes([0xFF]) * n if k % 10 else bytes(n)
        results.append(check_decode(data[: header_size(data)] + payload if k % 2 else restream(data, payload=payload)))
    # forged parameter blocks (a new, valid CRC): random bytes, cut, extended, one byte changed
    for k in range(40):
        data = pick()
        params = C.parse(data)[0].params
        if k % 4 == 0:
            forged = rng.integers(0, 256, int(rng.integers(0, 40)), dtype=np.uint8).tobytes()
        elif k % 4 == 1:
            forged = params[: int(rng.integers(len(params) + 1))]
        elif k % 4 == 2:
            forged = params + rng.integers(0, 256, int(rng.integers(1, 5)), dtype=np.uint8).tobytes()
        else:
            changed = bytearray(params or b"\0")
            changed[int(rng.integers(len(changed)))] = int(rng.integers(256))
            forged = bytes(changed)
        results.append(check_decode(restream(data, params=forged)))
    # forged container fields (a new, valid CRC), whole and cut
    for _ in range(30):
        data = pick()
        h = C.parse(data)[0]
        change = [
            dict(channels=3 if h.channels == 1 else 1, channel_axis=False),
            dict(lossless=not h.lossless),
            dict(embedded=not h.embedded),
            dict(channel_axis=not h.channel_axis) if h.channels == 1 else dict(bit_depth=1),
            dict(bit_depth=int(rng.integers(1, 9))),
            dict(dtype=np.dtype(np.uint16), bit_depth=16),
            dict(dtype=np.dtype(np.uint8), bit_depth=8),
            dict(height=int(rng.integers(1, 70)), width=int(rng.integers(1, 70))),
            dict(height=h.width, width=h.height),
        ][int(rng.integers(9))]
        forged = restream(data, **change)
        results.append(check_decode(forged))
        results.append(check_decode(forged[: int(rng.integers(header_size(forged), len(forged) + 1))]))  # and cut
    # headers written field by field: the codec's name, random fields, params and payload
    for _ in range(30):
        results.append(check_decode(raw_header(
            codec=name.encode(), flags=int(rng.choice([0, 1, 2, 3, 4, 6, 7])),
            height=int(rng.integers(0, 40)), width=int(rng.integers(0, 40)),
            channels=int(rng.choice([0, 1, 3, 4])), dtype_code=int(rng.choice([0, 1, 2, 3])),
            bit_depth=int(rng.integers(0, 18)),
            params=rng.integers(0, 256, int(rng.integers(0, 40)), dtype=np.uint8).tobytes(),
            payload=rng.integers(0, 256, int(rng.integers(0, 100)), dtype=np.uint8).tobytes(),
        )))
    assert "ok" in results and "error" in results, (results.count("ok"), results.count("error"))


# =============================================================================== determinism


@ALL
def test_determinism(name, codec):
    kinds = [{}, {"bpp": 3.0}] + ([{"lossless": True}] if codec.capabilities.lossless else [])
    other = image(19, 23, seed=41)
    seed = next((o for o in codec.options if o.name == "seed"), None)
    for label, (img, bd) in cases(codec, 16, 14).items():
        for kw in kinds:
            try:
                a = wavecodec.encode(img, name, bit_depth=bd, **kw)
            except RateUnreachableError:
                continue
            wavecodec.encode(other, name, **kw)  # no state carried from one encode to the next
            b = wavecodec.encode(np.array(img), name, bit_depth=bd, **kw)
            assert a == b, (label, kw)
            np.testing.assert_array_equal(wavecodec.decode(a), wavecodec.decode(b))
            if seed is not None:  # the default seed is the seed used
                assert wavecodec.encode(img, name, bit_depth=bd, seed=seed.default, **kw) == a, (label, kw)
