"""Tests of the command-line interface, run in-process through wavecodec.cli.main."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import wavecodec
from wavecodec import cli

from conftest import make_image, psnr


def run(*args) -> int:
    """Exit status of ``wavecodec ARGS`` (argparse usage errors raise SystemExit)."""
    try:
        return cli.main([str(a) for a in args])
    except SystemExit as exc:
        return int(exc.code or 0)


@pytest.fixture()
def gray_png(tmp_path, camera_odd):
    path = tmp_path / "gray.png"
    Image.fromarray(np.array(camera_odd)).save(path)
    return path


@pytest.fixture()
def rgb_png(tmp_path, astronaut_odd):
    path = tmp_path / "rgb.png"
    Image.fromarray(np.array(astronaut_odd)).save(path)
    return path


@pytest.fixture()
def gray16_png(tmp_path, gray12):
    path = tmp_path / "gray16.png"
    Image.fromarray(np.ascontiguousarray(gray12, dtype=np.uint16)).save(path)
    with Image.open(path) as im:
        assert im.mode.startswith("I")
    return path


def _read(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im)


# =============================================================================== happy paths


def test_encode_decode_gray_png(tmp_path, gray_png, camera_odd, capsys):
    stream = tmp_path / "gray.wvc"
    assert run("encode", gray_png, stream, "--bpp", "1.0") == 0
    out = capsys.readouterr().out
    assert "bytes" in out and "bpp" in out
    data = stream.read_bytes()
    assert len(data) <= camera_odd.size // 8
    assert wavecodec.info(data).shape == camera_odd.shape
    decoded = tmp_path / "gray_out.png"
    assert run("decode", stream, decoded) == 0
    img = _read(decoded)
    assert img.shape == camera_odd.shape and img.dtype == np.uint8
    np.testing.assert_array_equal(img, wavecodec.decode(data))
    assert psnr(camera_odd, img) > 28


def test_encode_decode_rgb_png_lossless(tmp_path, rgb_png, astronaut_odd):
    stream = tmp_path / "rgb.wvc"
    assert run("encode", rgb_png, stream, "--lossless") == 0
    info = wavecodec.info(stream.read_bytes())
    assert info.lossless and info.shape == astronaut_odd.shape
    decoded = tmp_path / "rgb_out.png"
    assert run("decode", stream, decoded) == 0
    np.testing.assert_array_equal(_read(decoded), astronaut_odd)


def test_encode_decode_16bit_png(tmp_path, gray16_png, gray12):
    stream = tmp_path / "g16.wvc"
    assert run("encode", gray16_png, stream, "--lossless") == 0
    info = wavecodec.info(stream.read_bytes())
    assert info.dtype == "uint16" and info.bit_depth == 12
    npy = tmp_path / "g16.npy"
    assert run("decode", stream, npy) == 0
    arr = np.load(npy)
    assert arr.dtype == np.uint16
    np.testing.assert_array_equal(arr, gray12)
    png = tmp_path / "g16_out.png"
    assert run("decode", stream, png) == 0
    back = _read(png)
    assert back.dtype == np.uint16  # stays 16-bit
    np.testing.assert_array_equal(back, gray12)


def test_encode_npy_input(tmp_path, rgb16):
    src = tmp_path / "in.npy"
    np.save(src, np.array(rgb16))
    stream = tmp_path / "in.wvc"
    assert run("encode", src, stream, "--lossless", "-o", "variant=binary") == 0
    assert wavecodec.info(stream.read_bytes()).params["variant"] == "plain"
    out = tmp_path / "out.npy"
    assert run("decode", stream, out) == 0
    np.testing.assert_array_equal(np.load(out), rgb16)


def test_encode_options_and_max_bytes(tmp_path, gray_png):
    stream = tmp_path / "o.wvc"
    assert run("encode", gray_png, stream, "--max-bytes", 700, "-o", "variant=binary", "-o", "levels=3",
               "-o", "wavelet=cdf97", "-o", "reconstruction=midpoint") == 0
    data = stream.read_bytes()
    assert len(data) <= 700
    info = wavecodec.info(data)
    assert info.params["variant"] == "plain" and info.levels == 3 and info.transform == "cdf97"
    assert info.params["reconstruction_points"] == (0.5, 0.5)


def test_decode_prefix_bytes(tmp_path, gray_png, camera_odd):
    stream = tmp_path / "p.wvc"
    assert run("encode", gray_png, stream, "--bpp", "2") == 0
    data = stream.read_bytes()
    header = wavecodec.info(data).header_size
    q = []
    for n in (header, header + 100, header + 1000, len(data), len(data) + 100):
        out = tmp_path / f"p{n}.png"
        assert run("decode", stream, out, "--bytes", n) == 0
        img = _read(out)
        assert img.shape == camera_odd.shape
        np.testing.assert_array_equal(img, wavecodec.decode(data[:n]))
        q.append(psnr(camera_odd, img))
    assert q[0] < q[1] < q[2] <= q[3] == q[4]


def test_info_command(tmp_path, rgb_png, capsys):
    stream = tmp_path / "i.wvc"
    assert run("encode", rgb_png, stream, "--bpp", "0.5") == 0
    capsys.readouterr()
    assert run("info", stream) == 0
    out = capsys.readouterr().out
    assert "spiht" in out and "(45, 67, 3)" in out and "cdf97" in out and "uint8" in out


def test_codecs_command(capsys):
    assert run("codecs") == 0
    out = capsys.readouterr().out
    assert "spiht" in out
    for opt in ("variant", "wavelet", "levels", "reconstruction"):
        assert opt in out
    assert "embedded" in out and "lossless" in out


def test_version(capsys):
    assert run("--version") == 0
    assert wavecodec.__version__ in capsys.readouterr().out


# =============================================================================== errors


def _error(capsys, *args, match: str = "") -> str:
    assert run(*args) == 2, args
    err = capsys.readouterr().err
    assert err.strip(), "an error message is printed"
    assert "Traceback" not in err
    if match:
        assert match in err, err
    return err


def test_missing_input_file(tmp_path, capsys):
    _error(capsys, "encode", tmp_path / "nope.png", tmp_path / "x.wvc", match="nope.png")
    _error(capsys, "decode", tmp_path / "nope.wvc", tmp_path / "x.png", match="nope.wvc")
    _error(capsys, "info", tmp_path / "nope.wvc", match="nope.wvc")


def test_bad_options(tmp_path, gray_png, capsys):
    out = tmp_path / "x.wvc"
    _error(capsys, "encode", gray_png, out, "-o", "variant=huffman", match="variant")
    _error(capsys, "encode", gray_png, out, "-o", "levels=99", match="levels")
    _error(capsys, "encode", gray_png, out, "-o", "colour=yes", match="colour")
    _error(capsys, "encode", gray_png, out, "--codec", "nope", match="spiht")
    _error(capsys, "encode", gray_png, out, "--bpp", "-1", match="bpp")
    _error(capsys, "encode", gray_png, out, "--max-bytes", "5", match="max_bytes")
    _error(capsys, "encode", gray_png, out, "--lossless", "-o", "wavelet=cdf97", match="lossless")
    assert not out.exists()  # nothing written on failure
    # usage errors (argparse): also status 2
    _error(capsys, "encode", gray_png, out, "-o", "variant")  # not NAME=VALUE
    _error(capsys, "encode", gray_png, out, "--bpp", "1", "--max-bytes", "100")
    _error(capsys, "encode", gray_png)
    _error(capsys, "frobnicate")
    _error(capsys)


def test_corrupt_and_non_image_inputs(tmp_path, gray_png, capsys):
    junk = tmp_path / "junk.wvc"
    junk.write_bytes(b"this is not a stream")
    _error(capsys, "decode", junk, tmp_path / "x.png", match="magic")
    _error(capsys, "info", junk, match="magic")
    not_png = tmp_path / "text.png"
    not_png.write_text("hello")
    _error(capsys, "encode", not_png, tmp_path / "y.wvc", match="text.png")
    stream = tmp_path / "s.wvc"
    assert run("encode", gray_png, stream) == 0
    _error(capsys, "decode", stream, tmp_path / "z.png", "--bytes", "10")  # cut inside the header


def test_unwritable_outputs(tmp_path, gray_png, rgb16, capsys):
    _error(capsys, "encode", gray_png, tmp_path / "no" / "such" / "dir.wvc")
    stream = tmp_path / "s.wvc"
    assert run("encode", gray_png, stream) == 0
    _error(capsys, "decode", stream, tmp_path / "no" / "such" / "dir.png")
    _error(capsys, "decode", stream, tmp_path / "out.unknownext")
    # 16-bit colour cannot go through Pillow: a clear error, and .npy works
    src = tmp_path / "c16.npy"
    np.save(src, np.array(rgb16))
    s16 = tmp_path / "c16.wvc"
    assert run("encode", src, s16, "--bpp", "4") == 0
    _error(capsys, "decode", s16, tmp_path / "c16.png", match="16-bit")
    assert run("decode", s16, tmp_path / "c16_out.npy") == 0


def test_python_dash_m(tmp_path, gray_png):
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-m", "wavecodec", "codecs"], capture_output=True, text=True,
                         cwd=str(__import__("pathlib").Path(wavecodec.__file__).parent.parent), timeout=120)
    assert res.returncode == 0 and "spiht" in res.stdout
    res = subprocess.run([sys.executable, "-m", "wavecodec", "info", str(tmp_path / "nope")], capture_output=True,
                         text=True, cwd=str(__import__("pathlib").Path(wavecodec.__file__).parent.parent), timeout=120)
    assert res.returncode == 2 and "error" in res.stderr


def test_vq_dct_shared_codebook(tmp_path, camera, capsys):
    from wavecodec.coders import vq_dct as V

    cb = V.train_codebook([camera[:128, :128], camera[256:384, 256:384]], k=10, size=32)
    cb_path = tmp_path / "camera.wvcb"
    cb.save(cb_path)
    Image.fromarray(np.ascontiguousarray(camera[128:256, 128:256])).save(tmp_path / "in.png")
    assert cli.main(["encode", str(tmp_path / "in.png"), str(tmp_path / "s.wvc"), "--codec", "vq-dct",
                     "-o", f"codebook={cb_path}"]) == 0
    V._SHARED.clear()  # a fresh decoder process knows no codebook
    assert cli.main(["decode", str(tmp_path / "s.wvc"), str(tmp_path / "a.png")]) != 0
    assert "codebook" in capsys.readouterr().err
    assert cli.main(["decode", str(tmp_path / "s.wvc"), str(tmp_path / "b.png"), "--codebook", str(cb_path)]) == 0
    with Image.open(tmp_path / "b.png") as im:
        out = np.asarray(im)
    assert out.shape == (128, 128) and psnr(camera[128:256, 128:256], out) > 20


def test_max_samples_flag(tmp_path, capsys):
    # a forged 66-byte-ish stream declaring 8192x8192: refused by default, the message names the flag
    from conftest import restream

    src = wavecodec.encode(make_image(32, 32, seed=1), bpp=2.0)
    head = wavecodec.info(src).header_size
    bomb = tmp_path / "bomb.wvc"
    bomb.write_bytes(restream(src, height=8192, width=8192, payload=src[head:head + 24]))
    for args in (("decode", bomb, tmp_path / "x.png"), ("info", bomb)):
        err = _error(capsys, *args, match="--max-samples 67108864")
        assert "8192x8192x1" in err and "50331648" in err and "max_samples=" not in err
    assert not (tmp_path / "x.png").exists()
    # a smaller forged image decodes once the flag allows it, and only then
    mid = tmp_path / "mid.wvc"
    mid.write_bytes(restream(src, height=300, width=200, payload=src[head:head + 24]))
    _error(capsys, "decode", mid, tmp_path / "m.png", "--max-samples", 59999, match="--max-samples 60000")
    assert run("decode", mid, tmp_path / "m.png", "--max-samples", 60000) == 0
    assert _read(tmp_path / "m.png").shape == (300, 200)
    _error(capsys, "info", mid, "--max-samples", 100, match="--max-samples 60000")
    assert run("info", mid, "--max-samples", 60000) == 0
    assert "(300, 200)" in capsys.readouterr().out
    # usage errors: not a positive integer
    for bad in ("abc", "0", "-3", "1e6"):
        err = _error(capsys, "decode", mid, tmp_path / "m2.png", "--max-samples", bad, match="--max-samples")
    assert "positive integer" in err
    assert "--max-samples" in cli.build_parser()._subparsers._group_actions[0].choices["decode"].format_help()


def test_demo_prints_each_row_once(capsys):
    from wavecodec.demo import run_demo

    rows = run_demo("ezw", rates=(0.25,))
    keys = [(r["image"], r["codec"], r["target_bpp"]) for r in rows]
    assert len(keys) == len(set(keys)) == 4  # 2 images x the "ac" and "plain" variants
    assert {r["codec"] for r in rows} == {"ezw-ac", "ezw-plain"}
    assert len(capsys.readouterr().out.strip().splitlines()) == 1 + 4 + 1  # header, rows, footnote
