"""Image files in and out of the CLI without loss (wavecodec._image_files): bit depths, formats, alpha."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from PIL import Image

from wavecodec import _image_files as F
from wavecodec.errors import InvalidArgumentError, MissingDependencyError, WavecodecError

from conftest import make_image

try:
    import imagecodecs  # noqa: F401

    HAVE_IMAGECODECS = True
except ImportError:  # pragma: no cover - imagecodecs is in the test extra
    HAVE_IMAGECODECS = False

needs_imagecodecs = pytest.mark.skipif(not HAVE_IMAGECODECS, reason="imagecodecs not installed: pip install 'wavecodec[standard]'")


def _samples():
    gray8 = make_image(21, 34, seed=1)
    rgb8 = make_image(21, 34, 3, seed=2)
    gray16 = make_image(21, 34, dtype=np.uint16, seed=3)  # full 16-bit range
    rgb16 = make_image(21, 34, 3, dtype=np.uint16, seed=4)
    rgb16[0, 0] = (1, 256, 65535)  # low bytes that an 8-bit reader would lose
    return {"gray8": gray8, "rgb8": rgb8, "gray16": gray16, "rgb16": rgb16}


SAMPLES = _samples()


@pytest.mark.parametrize("kind", sorted(SAMPLES))
@pytest.mark.parametrize("suffix", [".png", ".tif", ".tiff", ".npy"])
def test_write_read_round_trip_is_exact(tmp_path, kind, suffix):
    image = SAMPLES[kind]
    if suffix == ".png" and kind == "rgb16" and not HAVE_IMAGECODECS:
        pytest.skip("16-bit colour PNG goes through imagecodecs, not installed: pip install 'wavecodec[standard]' (the test extra has it)")
    path = tmp_path / f"{kind}{suffix}"
    F.write_image(path, image)
    back = F.read_image(path)
    assert back.dtype == image.dtype and back.shape == image.shape
    np.testing.assert_array_equal(back, image)


@pytest.mark.parametrize("kind", ["gray8", "rgb8", "gray16"])
def test_pnm_round_trip(tmp_path, kind):
    image = SAMPLES[kind]
    path = tmp_path / ("a.ppm" if image.ndim == 3 else "a.pgm")
    F.write_image(path, image)
    np.testing.assert_array_equal(F.read_image(path), image)


@needs_imagecodecs
def test_16bit_colour_png_from_another_writer_is_read_in_full(tmp_path):
    # Pillow alone would give uint8 (the high bytes): the reader must not
    image = SAMPLES["rgb16"]
    path = tmp_path / "c.png"
    path.write_bytes(imagecodecs.png_encode(image))
    with Image.open(path) as im:
        assert im.mode == "RGB"  # what Pillow makes of it
    back = F.read_image(path)
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, image)


def test_16bit_colour_tiff_written_by_tifffile_planar_and_compressed(tmp_path):
    import tifffile

    image = SAMPLES["rgb16"]
    tifffile.imwrite(tmp_path / "planar.tif", np.moveaxis(image, -1, 0), photometric="rgb", planarconfig="separate")
    np.testing.assert_array_equal(F.read_image(tmp_path / "planar.tif"), image)
    tifffile.imwrite(tmp_path / "zlib.tif", image, photometric="rgb", compression="zlib")
    np.testing.assert_array_equal(F.read_image(tmp_path / "zlib.tif"), image)


def test_miniswhite_tiff_is_inverted(tmp_path):
    import tifffile

    gray = SAMPLES["gray8"]
    tifffile.imwrite(tmp_path / "w.tif", gray, photometric="miniswhite")
    np.testing.assert_array_equal(F.read_image(tmp_path / "w.tif"), 255 - gray)


def test_16bit_colour_ppm_is_refused_not_truncated(tmp_path):
    image = SAMPLES["rgb16"]
    h, w, _ = image.shape
    path = tmp_path / "c16.ppm"
    path.write_bytes(b"P6\n%d %d\n65535\n" % (w, h) + image.astype(">u2").tobytes())
    with pytest.raises(WavecodecError, match="16-bit colour"):
        F.read_image(path)
    with pytest.raises(WavecodecError, match=r"\.png, \.tif or \.npy"):
        F.write_image(tmp_path / "out.ppm", image)


def test_16bit_colour_png_without_imagecodecs_names_the_extra(tmp_path, monkeypatch):
    image = SAMPLES["rgb16"]
    F.write_image(tmp_path / "c.tif", image)
    monkeypatch.setitem(sys.modules, "imagecodecs", None)  # import imagecodecs -> ImportError
    with pytest.raises(MissingDependencyError, match=r"wavecodec\[standard\]"):
        F.write_image(tmp_path / "c.png", image)
    if HAVE_IMAGECODECS:
        monkeypatch.delitem(sys.modules, "imagecodecs")
        import imagecodecs as ic

        (tmp_path / "d.png").write_bytes(ic.png_encode(image))
        monkeypatch.setitem(sys.modules, "imagecodecs", None)
        with pytest.raises(MissingDependencyError, match="TIFF"):
            F.read_image(tmp_path / "d.png")
    np.testing.assert_array_equal(F.read_image(tmp_path / "c.tif"), image)  # TIFF needs no extra


# ------------------------------------------------------------------------------- alpha


def _alpha_files(tmp_path):
    rgb, gray = SAMPLES["rgb8"], SAMPLES["gray8"]
    alpha = np.full(gray.shape, 255, np.uint8)
    alpha[3, 4] = 0
    files = {}
    Image.fromarray(np.dstack([rgb, alpha])).save(tmp_path / "rgba.png")
    files["rgba.png"] = rgb
    Image.fromarray(np.dstack([gray, alpha])).save(tmp_path / "la.png")
    files["la.png"] = gray
    pal = Image.fromarray(rgb).quantize(16)
    pal.info["transparency"] = 0
    pal.save(tmp_path / "p.png", transparency=0)
    files["p.png"] = np.asarray(pal.convert("RGB"))
    import tifffile

    tifffile.imwrite(tmp_path / "rgba.tif", np.dstack([rgb, alpha]), photometric="rgb", extrasamples=["unassalpha"])
    files["rgba.tif"] = rgb
    np.save(tmp_path / "rgba.npy", np.dstack([rgb, alpha]))
    files["rgba.npy"] = rgb
    rgb16 = SAMPLES["rgb16"]
    tifffile.imwrite(tmp_path / "rgba16.tif", np.dstack([rgb16, rgb16[:, :, :1]]), photometric="rgb",
                     extrasamples=["assocalpha"])
    files["rgba16.tif"] = rgb16
    if HAVE_IMAGECODECS:
        (tmp_path / "rgba16.png").write_bytes(imagecodecs.png_encode(np.dstack([rgb16, rgb16[:, :, :1]])))
        files["rgba16.png"] = rgb16
    return files


def test_alpha_is_refused_naming_drop_alpha_or_dropped_on_request(tmp_path):
    for name, planes in _alpha_files(tmp_path).items():
        with pytest.raises(InvalidArgumentError, match="--drop-alpha") as exc:
            F.read_image(tmp_path / name)
        assert "alpha" in str(exc.value) and name in str(exc.value)
        back = F.read_image(tmp_path / name, drop_alpha=True)
        assert back.dtype == planes.dtype
        np.testing.assert_array_equal(back, planes, err_msg=name)


def test_opaque_alpha_is_still_refused_but_said_to_be_opaque(tmp_path):
    rgb = SAMPLES["rgb8"]
    Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])).save(tmp_path / "opaque.png")
    with pytest.raises(InvalidArgumentError, match="every pixel is opaque"):
        F.read_image(tmp_path / "opaque.png")


def test_unreadable_and_unsupported_files(tmp_path):
    (tmp_path / "text.png").write_text("hello")
    with pytest.raises(WavecodecError, match="text.png"):
        F.read_image(tmp_path / "text.png")
    with pytest.raises(WavecodecError, match="nope"):
        F.read_image(tmp_path / "nope.png")
    Image.fromarray(np.zeros((4, 4), np.float32)).save(tmp_path / "float.tif")
    with pytest.raises(WavecodecError, match="float32"):
        F.read_image(tmp_path / "float.tif")
    with pytest.raises(WavecodecError, match="cannot write"):
        F.write_image(tmp_path / "out.unknownext", SAMPLES["gray8"])


def test_is_stream(tmp_path):
    import wavecodec

    (tmp_path / "s.wvc").write_bytes(wavecodec.encode(SAMPLES["gray8"], bpp=1.0))
    F.write_image(tmp_path / "i.png", SAMPLES["gray8"])
    assert F.is_stream(tmp_path / "s.wvc") and not F.is_stream(tmp_path / "i.png")
