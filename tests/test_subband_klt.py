"""The subband KLT colour transform (wavecodec.coders._subband_klt) and its use by ecbp."""

from __future__ import annotations

import numpy as np
import pytest

import wavecodec
from wavecodec import _container
from wavecodec._kernels import colour as K
from wavecodec.coders import _bitplane as B
from wavecodec.coders import _subband_klt as S
from wavecodec.errors import CorruptStreamError

from conftest import make_image, restream


def _random_rotation(rng) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q *= np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[2] *= -1
    return q


def test_stored_quaternion_gives_back_the_rotation():
    rng = np.random.default_rng(3)
    for _ in range(50):
        m = _random_rotation(rng)
        q = S.quaternion(m)
        assert all(-S.QUATERNION_ONE <= e <= S.QUATERNION_ONE for e in q)
        assert next(e for e in q if e) > 0
        r = S.rotation(q)
        np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-15)  # orthogonal to rounding
        assert np.max(np.abs(r - m)) < 4.0 / S.QUATERNION_ONE  # the 1/2**14 quantisation of the components
    assert S.quaternion(np.eye(3)) == (S.QUATERNION_ONE, 0, 0, 0)


def test_principal_axes_diagonalise_the_moments():
    rng = np.random.default_rng(5)
    for _ in range(20):
        a = rng.normal(size=(3, 3))
        moments = a @ a.T
        axes = S.principal_axes(moments)
        assert np.linalg.det(axes) == pytest.approx(1.0)
        d = axes @ moments @ axes.T
        assert np.max(np.abs(d - np.diag(np.diag(d)))) < 1e-9 * np.trace(moments)
        assert d[0, 0] >= d[1, 1] >= d[2, 2]  # largest second moment first
        assert axes[0].sum() > 0  # luma-like first plane
    np.testing.assert_array_equal(S.principal_axes(np.zeros((3, 3))), np.eye(3))  # flat: nothing to rotate


def test_group_kernels_match_numpy():
    rng = np.random.default_rng(9)
    hp, wp, levels = 16, 24, 3
    x = rng.normal(size=(3, hp, wp))
    rowlev, collev = B.level_maps(hp, wp, levels)
    group = np.minimum(np.minimum(rowlev[:, None], collev[None, :]), K.N_GROUPS - 1)
    products = K.group_products(x, rowlev, collev)
    for g in range(1, K.N_GROUPS):
        xs = x[:, group == g]
        np.testing.assert_allclose(products[g], xs @ xs.T, rtol=1e-12)
    quats = S.fit(x, rowlev, collev)
    y = x.copy()
    S.rotate(y, rowlev, collev, quats, inverse=False)
    for g, q in enumerate(quats, start=1):
        np.testing.assert_allclose(y[:, group == g], S.rotation(q) @ x[:, group == g], rtol=1e-12, atol=1e-12)
    corner = np.ascontiguousarray(y[:, : hp // 2, : wp // 2])
    S.rotate(y, rowlev, collev, quats, inverse=True)
    np.testing.assert_allclose(y, x, atol=1e-12)
    S.rotate(corner, rowlev, collev, quats, inverse=True)  # a corner keeps its rows' and columns' groups
    np.testing.assert_allclose(corner, x[:, : hp // 2, : wp // 2], atol=1e-12)


def _colour_image() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[100:196, 150:278])


def _psnr(a, b) -> float:
    return 10 * np.log10(255.0**2 / np.mean((a.astype(float) - b) ** 2))


def test_ecbp_subband_klt_round_trip_prefixes_and_reduce():
    img = _colour_image()
    stream = wavecodec.encode(img, "ecbp", bpp=0.5, colour="subband-klt")
    assert stream == wavecodec.encode(img, "ecbp", bpp=0.5, colour="subband-klt")  # deterministic
    params = wavecodec.info(stream).params
    assert params["colour_transform"] == "subband KLT"
    quaternions = params["subband_klt_quaternions"]
    assert len(quaternions) == S.N_GROUPS and all(len(q) == 4 and any(q) for q in quaternions)
    out = wavecodec.decode(stream)
    ict = wavecodec.decode(wavecodec.encode(img, "ecbp", bpp=0.5))
    assert _psnr(out, img) > _psnr(ict, img) - 0.5 and _psnr(out, img) > 25
    info = wavecodec.info(stream)
    previous = 0.0
    for part in (8, 4, 2, 1):  # embedded: longer prefixes, better images
        cut = wavecodec.decode(stream[: info.header_size + info.payload_size // part])
        assert cut.shape == img.shape
        assert _psnr(cut, img) >= previous - 0.05
        previous = _psnr(cut, img)
    for k in (1, 2, 7):
        small = wavecodec.decode(stream, reduce=k)
        assert small.shape == (-(-96 // 2**k), -(-128 // 2**k), 3)
    # the reduced image is the block mean of the full one, to within the coarse levels' detail
    half = wavecodec.decode(stream, reduce=1).astype(float)
    full = out.astype(float).reshape(48, 2, 64, 2, 3).mean(axis=(1, 3))
    assert np.mean(np.abs(half - full)) < 6.0


def test_gray_and_lossless_ignore_the_subband_klt():
    img = make_image(40, 56, seed=4)
    assert wavecodec.encode(img, "ecbp", bpp=0.5, colour="subband-klt") == wavecodec.encode(img, "ecbp", bpp=0.5)
    rgb = _colour_image()[:32, :48]
    stream = wavecodec.encode(rgb, "ecbp", lossless=True, colour="subband-klt")
    assert wavecodec.info(stream).params["colour_transform"] == "RCT"
    np.testing.assert_array_equal(wavecodec.decode(stream), rgb)


def _with_params(stream: bytes, edit) -> bytes:
    header, _ = _container.parse(stream)
    params = bytearray(header.params)
    edit(params)
    return restream(stream, params=bytes(params))


def test_corrupt_subband_klt_parameters_are_refused():
    img = _colour_image()[:32, :48]
    stream = wavecodec.encode(img, "ecbp", bpp=1.0, colour="subband-klt")

    def zero_quaternion(p):
        p[-8:] = bytes(8)

    with pytest.raises(CorruptStreamError, match="zero subband KLT quaternion"):
        wavecodec.decode(_with_params(stream, zero_quaternion))

    def short(p):
        del p[-1]

    with pytest.raises(CorruptStreamError):
        wavecodec.decode(_with_params(stream, short))
    # codecs that do not implement it refuse colour transform 3
    spiht = wavecodec.encode(img, "spiht", bpp=1.0)
    header, _ = _container.parse(spiht)
    colour_at = 1 + 1 + len(header.params[2:2 + header.params[1]]) + 1 + 0  # variant, wavelet text, levels

    def colour3(p):
        assert p[colour_at] == B.COLOUR_ICT
        p[colour_at] = B.COLOUR_SKLT

    with pytest.raises(CorruptStreamError, match="colour transform 3"):
        wavecodec.decode(_with_params(spiht, colour3))


def test_auto_uses_the_subband_klt_only_where_its_bytes_are_at_most_five_percent():
    img = _colour_image()  # 96 x 128
    for bpp, want in ((0.25, "ICT"), (0.5, "subband KLT")):  # 384 and 768 bytes (budgets below / above 480)
        stream = wavecodec.encode(img, "ecbp", bpp=bpp)
        assert wavecodec.info(stream).params["colour_transform"] == want
    assert S.MIN_BUDGET == 20 * S.SIDE_BYTES == 480
    with pytest.raises(wavecodec.errors.RateUnreachableError):  # asked for explicitly: its 24 bytes must fit
        wavecodec.encode(img[:12, :10], "ecbp", bpp=4.0, colour="subband-klt")
