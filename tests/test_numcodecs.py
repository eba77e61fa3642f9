"""Chunked storage: wavecodec.storage's numcodecs codecs and Zarr v3 codecs (docs/zarr.md).

Needs the ``zarr`` extra (zarr, numcodecs; both are in the ``test`` extra); dask (also in the test
extra) for the Dask test.  Chunks are small (64x64) so that the module runs in a few seconds warm.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import wavecodec

numcodecs = pytest.importorskip("numcodecs")
zarr = pytest.importorskip("zarr")

from wavecodec import storage  # noqa: E402
from wavecodec.storage import zarr3  # noqa: E402

SHAPE = (150, 130)  # 64x64 chunks: 3x3 chunks, the last row and column partial (edge chunks)
CHUNKS = (64, 64)


def _image(shape, dtype=np.uint8, seed=0):
    """A smooth gradient with texture: compresses like a photo, covers the dtype's range."""
    rng = np.random.default_rng(seed)
    h, w = shape[:2]
    peak = 255 if dtype == np.uint8 else 4095  # a 12-bit uint16 image
    base = np.add.outer(np.linspace(0, 0.7, h), np.linspace(0, 0.3, w))
    if len(shape) == 3:
        base = base[:, :, None] * np.array([1.0, 0.8, 0.6])
    img = base * peak + rng.normal(0, peak * 0.03, shape)
    return np.clip(np.rint(img), 0, peak).astype(dtype)


@pytest.fixture(scope="module")
def image():
    return _image(SHAPE)


# --------------------------------------------------------------------------- codec objects


@pytest.mark.parametrize("cls", list(storage.CODECS.values()))
def test_codec_ids_and_names(cls):
    assert cls.codec_id == "wavecodec_" + cls.codec_name.replace("-", "_")
    wavecodec.get_codec(cls.codec_name)  # a built-in codec of that name exists


@pytest.mark.parametrize(
    ("cls", "kwargs"),
    [
        (storage.Spiht, {}),
        (storage.Spiht, {"lossless": True}),
        (storage.Spiht, {"bpp": 0.5, "variant": "binary", "levels": 3, "bit_depth": 12}),
        (storage.Ezw, {"max_bytes": 900, "scan": "rescan", "pass_order": "shapiro"}),
        (storage.Imp1ezw, {"lossless": True, "variant": "plain"}),
        (storage.CannySpiht, {"bpp": 1, "use_edges": "never", "sigma": 1.5}),
        (storage.VqDct, {"bpp": 1.0, "block": 8, "optimizer": "none"}),
    ],
)
def test_config_round_trip(cls, kwargs):
    codec = cls(**kwargs)
    config = codec.get_config()
    assert config["id"] == cls.codec_id
    for key, value in kwargs.items():
        assert config[key] == value
    # what zarr stores (JSON) and reads back gives an equal codec
    again = numcodecs.get_codec(config)
    assert type(again) is cls and again == codec and again.get_config() == config
    assert pickle.loads(pickle.dumps(codec)) == codec
    assert eval(repr(codec), {cls.__name__: cls}) == codec  # noqa: S307  (our own repr)
    # the zarr v3 codec of the same name carries the same configuration
    v3 = zarr3.CODECS[cls.codec_id](**kwargs)
    d = v3.to_dict()
    assert d == {"name": cls.codec_id, "configuration": {k: v for k, v in config.items() if k != "id"}}
    assert type(v3).from_dict(d) == v3
    assert pickle.loads(pickle.dumps(v3)) == v3


@pytest.mark.parametrize(
    ("cls", "kwargs", "match"),
    [
        (storage.Spiht, {"variant": "nope"}, "variant"),
        (storage.Spiht, {"colour": True}, "unknown option"),
        (storage.Spiht, {"bpp": -1}, "bpp"),
        (storage.Spiht, {"bpp": float("nan")}, "bpp"),
        (storage.Spiht, {"bpp": 1.0, "max_bytes": 100}, "not both"),
        (storage.Spiht, {"max_bytes": 1.5}, "max_bytes"),
        (storage.Spiht, {"lossless": "yes"}, "lossless"),
        (storage.Spiht, {"bit_depth": 17}, "bit_depth"),
        (storage.Spiht, {"levels": object()}, "JSON"),
        (storage.VqDct, {"lossless": True}, "lossless"),
        (storage.VqDct, {"codebook": "book.npz"}, "codebook"),
    ],
)
def test_bad_options_raise_at_construction(cls, kwargs, match):
    with pytest.raises(wavecodec.InvalidArgumentError, match=match) as err:
        cls(**kwargs)
    assert isinstance(err.value, ValueError)
    with pytest.raises(wavecodec.InvalidArgumentError, match=match):
        zarr3.CODECS[cls.codec_id](**kwargs)


def test_registry_finds_codecs_through_entry_points():
    from numcodecs.registry import entries

    # installed entry points (pip install -e ".[test]"), loaded by numcodecs on first use
    for codec_id, cls in storage.CODECS.items():
        assert codec_id in entries, f"{codec_id}: no numcodecs.codecs entry point; run pip install -e ."
        assert entries[codec_id].load() is cls
    codec = numcodecs.get_codec({"id": "wavecodec_spiht", "lossless": True, "variant": "binary"})
    assert isinstance(codec, storage.Spiht) and codec.lossless and codec.options == {"variant": "binary"}
    from zarr.registry import get_codec_class

    assert get_codec_class("wavecodec_spiht") is zarr3.Spiht


def test_register_codecs_by_hand():
    from numcodecs.registry import codec_registry

    storage.register_codecs()
    storage.register_codecs()  # twice is harmless
    for codec_id, cls in storage.CODECS.items():
        assert codec_registry[codec_id] is cls
    assert numcodecs.get_codec({"id": "wavecodec_ezw"}) == storage.Ezw()


# --------------------------------------------------------------------------- chunks


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("shape", [(64, 64), (64, 64, 3), (40, 24, 1)])
@pytest.mark.parametrize("cls", [storage.Spiht, storage.Ezw, storage.Imp1ezw, storage.CannySpiht])
def test_lossless_chunks_bit_exact(cls, shape, dtype):
    chunk = _image(shape, dtype)
    codec = cls(lossless=True)
    data = codec.encode(chunk)
    assert wavecodec.info(data).lossless
    out = codec.decode(data)
    assert out.dtype == chunk.dtype and out.shape == chunk.shape
    np.testing.assert_array_equal(out, chunk)
    # from a flat buffer (what zarr_format=2 reads from the store) into zarr's `out`
    filled = np.zeros_like(chunk)
    assert codec.decode(np.frombuffer(data, np.uint8), out=filled) is filled
    np.testing.assert_array_equal(filled, chunk)
    raw = bytearray(chunk.nbytes)  # a byte buffer of the right size is also a valid `out`
    codec.decode(memoryview(data), out=raw)
    assert bytes(raw) == chunk.tobytes()


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("shape", [(64, 64), (64, 64, 3)])
@pytest.mark.parametrize(
    ("cls", "kwargs"),
    [(storage.Spiht, {}), (storage.Ezw, {}), (storage.Imp1ezw, {}), (storage.CannySpiht, {}),
     (storage.VqDct, {"optimizer": "none"})],
)
def test_lossy_chunks_keep_the_budget(cls, kwargs, shape, dtype):
    chunk = _image(shape, dtype)
    bpp = 2.0
    data = cls(bpp=bpp, **kwargs).encode(chunk)
    assert len(data) <= bpp * shape[0] * shape[1] / 8
    out = cls().decode(data)
    assert out.dtype == chunk.dtype and out.shape == chunk.shape
    peak = 255.0 if dtype == np.uint8 else 4095.0
    mse = np.mean((out.astype(float) - chunk) ** 2)
    assert 10 * np.log10(peak * peak / mse) > 24  # a real image, not noise
    data = cls(max_bytes=300, **kwargs).encode(chunk)
    assert len(data) <= 300


def test_bad_chunks_raise_clear_errors():
    codec = storage.Spiht(lossless=True)
    with pytest.raises(wavecodec.UnsupportedImageError, match="flat buffer"):
        codec.encode(b"\x00" * 4096)  # the shape is lost: refused, not guessed
    with pytest.raises(wavecodec.UnsupportedImageError, match=r"\(64, 64, 4\)"):
        codec.encode(np.zeros((64, 64, 4), np.uint8))
    with pytest.raises(wavecodec.UnsupportedImageError, match="float32"):
        codec.encode(np.zeros((64, 64), np.float32))
    with pytest.raises(wavecodec.UnsupportedImageError, match="int16"):
        codec.encode(np.zeros((64, 64), np.int16))
    with pytest.raises(wavecodec.UnsupportedImageError, match="Fortran"):
        codec.encode(np.asfortranarray(np.zeros((64, 64, 3), np.uint8)))
    # a non-contiguous view is fine (copied)
    img = _image((64, 64))
    np.testing.assert_array_equal(codec.decode(codec.encode(img[::2, ::2])), img[::2, ::2])
    # a big-endian chunk codes like the native one
    np.testing.assert_array_equal(codec.decode(codec.encode(img.astype(">u2"))), img)
    with pytest.raises(wavecodec.InvalidArgumentError, match="out"):
        codec.decode(codec.encode(img), out=np.zeros((64, 64), np.uint16))


def test_corrupt_chunks_raise_wavecodec_errors():
    codec = storage.Spiht(lossless=True)
    data = codec.encode(_image((64, 64)))
    with pytest.raises(wavecodec.CorruptStreamError):
        codec.decode(b"not a wavecodec stream")
    with pytest.raises(wavecodec.CorruptStreamError):
        codec.decode(data[:6] + bytes([data[6] ^ 0x10]) + data[7:])  # header CRC
    with pytest.raises(wavecodec.TruncatedStreamError, match="truncated"):
        codec.decode(data[: len(data) // 2])  # an embedded prefix, but a stored chunk is never cut


# --------------------------------------------------------------------------- Zarr arrays


def _create(store, fmt, dtype, shape, chunks, **codec_kwargs):
    if fmt == 2:
        coding = {"compressors": storage.Spiht(**codec_kwargs)}
    else:
        coding = {"serializer": zarr3.Spiht(**codec_kwargs), "compressors": None}
    return zarr.create_array(store, shape=shape, chunks=chunks, dtype=dtype, zarr_format=fmt, **coding)


def _chunk_files(root, fmt):
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith((".z", "zarr.json")))


@pytest.mark.parametrize("fmt", [2, 3])
@pytest.mark.parametrize(("dtype", "colour"), [(np.uint8, False), (np.uint16, True)])
def test_zarr_array_lossless_round_trip(tmp_path, fmt, dtype, colour):
    shape = SHAPE + ((3,) if colour else ())
    chunks = CHUNKS + ((3,) if colour else ())
    img = _image(shape, dtype, seed=3)
    path = tmp_path / "img.zarr"
    z = _create(str(path), fmt, dtype, shape, chunks, lossless=True)
    z[:] = img
    files = _chunk_files(path, fmt)
    assert len(files) == 9  # 3x3 chunks, edge chunks included
    for f in files:
        assert f.read_bytes()[:3] == b"WVC"  # every chunk is one wavecodec stream
        assert wavecodec.info(f.read_bytes()).shape == chunks[: 2 if not colour else 3]
    back = zarr.open_array(str(path), mode="r")  # a fresh open finds the codec from the metadata
    np.testing.assert_array_equal(back[:], img)
    np.testing.assert_array_equal(back[10:140, 50:129], img[10:140, 50:129])  # a window across 6 chunks
    np.testing.assert_array_equal(back[100:, 100:], img[100:, 100:])  # the corner edge chunk


@pytest.mark.parametrize("fmt", [2, 3])
def test_zarr_array_lossy_at_rate(tmp_path, image, fmt):
    path = tmp_path / "img.zarr"
    z = _create(str(path), fmt, "uint8", SHAPE, CHUNKS, bpp=1.0)
    z[:] = image
    files = _chunk_files(path, fmt)
    assert len(files) == 9
    assert all(f.stat().st_size <= 64 * 64 / 8 for f in files)  # the budget of a full (padded) chunk
    back = zarr.open_array(str(path), mode="r")[:]
    mse = np.mean((back.astype(float) - image) ** 2)
    assert 10 * np.log10(255.0**2 / mse) > 28


def test_zarr_metadata_names_the_codec(tmp_path, image):
    import json

    z = _create(str(tmp_path / "v2.zarr"), 2, "uint8", SHAPE, CHUNKS, lossless=True, variant="binary")
    z[:] = image
    meta = json.loads((tmp_path / "v2.zarr" / ".zarray").read_text())
    assert meta["compressor"] == {"id": "wavecodec_spiht", "lossless": True, "variant": "binary"}
    z = _create(str(tmp_path / "v3.zarr"), 3, "uint8", SHAPE, CHUNKS, bpp=0.5)
    meta = json.loads((tmp_path / "v3.zarr" / "zarr.json").read_text())
    assert meta["codecs"] == [{"name": "wavecodec_spiht", "configuration": {"lossless": False, "bpp": 0.5}}]
    # the serializer may also be given as that dict (Zarr resolves it through the zarr.codecs entry point)
    z = zarr.create_array({}, shape=SHAPE, chunks=CHUNKS, dtype="uint8", compressors=None,
                          serializer={"name": "wavecodec_spiht", "configuration": {"lossless": True}})
    z[:] = image
    np.testing.assert_array_equal(z[:], image)


def test_zarr3_validates_the_array_at_creation():
    with pytest.raises(wavecodec.UnsupportedImageError, match="float32"):
        zarr.create_array({}, shape=SHAPE, chunks=CHUNKS, dtype="float32", serializer=zarr3.Spiht(), compressors=None)
    with pytest.raises(wavecodec.UnsupportedImageError, match="chunk shape"):
        zarr.create_array({}, shape=(150, 130, 4), chunks=(64, 64, 4), dtype="uint8",
                          serializer=zarr3.Spiht(), compressors=None)


@pytest.mark.parametrize("fmt", [2, 3])
def test_zarr_corrupt_chunk_raises(tmp_path, image, fmt):
    path = tmp_path / "img.zarr"
    z = _create(str(path), fmt, "uint8", SHAPE, CHUNKS, lossless=True)
    z[:] = image
    victim = _chunk_files(path, fmt)[4]
    victim.write_bytes(b"garbage, not a chunk")
    back = zarr.open_array(str(path), mode="r")
    np.testing.assert_array_equal(back[:60, :60], image[:60, :60])  # other chunks still read
    with pytest.raises(wavecodec.CorruptStreamError):
        back[:]


@pytest.mark.parametrize("fmt", [2, 3])
def test_dask_reads_and_writes_zarr(tmp_path, image, fmt):
    da = pytest.importorskip("dask.array")
    path = tmp_path / "img.zarr"
    z = _create(str(path), fmt, "uint8", SHAPE, CHUNKS, lossless=True)
    z[:] = image
    arr = da.from_zarr(str(path))
    assert arr.chunksize == CHUNKS and arr.numblocks == (3, 3)
    np.testing.assert_array_equal(arr.compute(scheduler="threads"), image)
    # Dask writes a new array chunk by chunk (aligned: no chunk is written twice).  to_zarr rechunks
    # to dask's "auto" size (128 MiB), which for this tiny array is one 150x130 block, and then warns
    # (PerformanceWarning) that 150 is not a multiple of 64; a chunk-size limit of a few Zarr chunks
    # keeps its blocks multiples of 64 rows, as they are for any image bigger than 128 MiB.
    import dask

    out = _create(str(tmp_path / "out.zarr"), fmt, "uint8", SHAPE, CHUNKS, lossless=True)
    with dask.config.set({"array.chunk-size": "16KiB"}):
        (255 - arr).to_zarr(out, compute=True)
    np.testing.assert_array_equal(zarr.open_array(str(tmp_path / "out.zarr"), mode="r")[:], 255 - image)
