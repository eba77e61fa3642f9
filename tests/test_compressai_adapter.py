"""CompressAI adapter, tested for real with a small CompressAI model built here (random weights).

Optional group: needs torch and compressai (``pip install torch==2.13.0`` then
``pip install 'wavecodec[learned]'``).  Without them the whole module is skipped with
that reason; the rest of the suite does not need them.
"""

from __future__ import annotations

import numpy as np
import pytest

try:
    import torch
    from compressai.models import FactorizedPrior, ScaleHyperprior
except Exception as exc:  # ImportError, or a torch/torchvision mismatch raising RuntimeError at import
    pytest.skip(
        f"compressai/torch not installed ({type(exc).__name__}: {exc}): pip install torch==2.13.0 && pip install 'wavecodec[learned]'",
        allow_module_level=True,
    )

import wavecodec
from wavecodec import _registry, plugins
from wavecodec.errors import CorruptStreamError, InvalidArgumentError, TruncatedStreamError, WavecodecError
from wavecodec.plugins.compressai_codec import PAD, register_model

from conftest import make_image


def _model(cls=FactorizedPrior, seed: int = 0, **kw):
    torch.manual_seed(seed)
    model = cls(**kw)
    model.eval()
    model.update(force=True)
    return model


@pytest.fixture
def bound_codec():
    model = _model(N=8, M=12)
    codec = register_model("cai-test", model)
    yield codec, model
    _registry._unregister("cai-test")


def _direct(model, img: np.ndarray) -> np.ndarray:
    """What CompressAI itself gives for ``img``: compress, decompress, crop, to uint8."""
    x = torch.from_numpy(img).float().div(255).permute(2, 0, 1).unsqueeze(0)
    h, w = img.shape[:2]
    x = torch.nn.functional.pad(x, (0, (-w) % PAD, 0, (-h) % PAD), mode="replicate")
    with torch.no_grad():
        enc = model.compress(x)
        x_hat = model.decompress(enc["strings"], enc["shape"])["x_hat"]
    out = x_hat[0, :, :h, :w].clamp(0, 1).mul(255).round().permute(1, 2, 0).numpy()
    return out.astype(np.uint8), enc


def test_compressai_registered_from_entry_point():
    assert "compressai" in wavecodec.codecs()
    assert plugins.is_adapter(wavecodec.get_codec("compressai"))


def test_bound_model_round_trip_matches_compressai(bound_codec):
    codec, model = bound_codec
    img = make_image(40, 72, 3, seed=11)
    stream = wavecodec.encode(img, "cai-test")
    out = wavecodec.decode(stream)
    assert out.shape == img.shape and out.dtype == np.uint8
    expected, enc = _direct(model, img)
    assert np.array_equal(out, expected)
    # the payload is exactly the model's strings (plus a 4-byte length each), inside the container
    info = wavecodec.info(stream)
    assert info.payload_size == sum(4 + len(s[0]) for s in enc["strings"])
    assert info.params["latent_shape"] == tuple(enc["shape"]) and info.params["strings"] == len(enc["strings"])
    assert stream == wavecodec.encode(img, "cai-test")  # deterministic
    with pytest.raises(TruncatedStreamError):
        wavecodec.decode(stream[:-2])


def test_bound_model_gray_and_rate(bound_codec):
    img = make_image(33, 47, seed=12)
    stream = wavecodec.encode(img, "cai-test")
    out = wavecodec.decode(stream)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert wavecodec.encode(img, "cai-test", max_bytes=len(stream)) == stream
    with pytest.raises(InvalidArgumentError, match="unreachable"):
        wavecodec.encode(img, "cai-test", max_bytes=len(stream) - 1)


def test_hyperprior_two_strings(tmp_path):
    model = _model(ScaleHyperprior, N=8, M=8)
    register_model("cai-hyper", model)
    try:
        img = make_image(64, 64, 3, seed=13)
        stream = wavecodec.encode(img, "cai-hyper")
        assert wavecodec.info(stream).params["strings"] == 2
        assert np.array_equal(wavecodec.decode(stream), _direct(model, img)[0])
    finally:
        _registry._unregister("cai-hyper")


def test_checkpoint_file(tmp_path):
    model = _model(N=8, M=12, seed=3)
    path = tmp_path / "tiny.pth.tar"
    torch.save({"state_dict": model.state_dict()}, path)
    img = make_image(48, 48, 3, seed=14)
    stream = wavecodec.encode(img, "compressai", model="bmshj2018-factorized", checkpoint=str(path))
    info = wavecodec.info(stream)
    assert info.params["checkpoint"] == str(path)
    out = wavecodec.decode(stream)
    assert np.array_equal(out, _direct(_model(N=8, M=12, seed=3), img)[0])
    # a different file at that path is detected
    torch.save({"state_dict": _model(N=8, M=12, seed=4).state_dict()}, path)
    wavecodec.get_codec("compressai")._cache.clear()
    with pytest.raises(CorruptStreamError, match="SHA-256"):
        wavecodec.decode(stream)
    with pytest.raises(InvalidArgumentError, match="checkpoint"):
        wavecodec.encode(img, "compressai", checkpoint=str(tmp_path / "missing.pth"))


def test_corrupt_payload(bound_codec):
    img = make_image(32, 32, 3, seed=15)
    stream = bytearray(wavecodec.encode(img, "cai-test"))
    head = wavecodec.info(bytes(stream)).header_size
    rng = np.random.default_rng(5)
    for _ in range(5):
        bad = bytearray(stream)
        for pos in rng.integers(head, len(bad), size=3):
            bad[pos] ^= 0x5A
        try:
            out = wavecodec.decode(bytes(bad))
        except WavecodecError:
            continue
        assert out.shape == img.shape
