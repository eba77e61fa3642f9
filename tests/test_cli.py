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
    # 16-bit colour has no 8-bit format: a clear error naming the formats that keep it
    src = tmp_path / "c16.npy"
    np.save(src, np.array(rgb16))
    s16 = tmp_path / "c16.wvc"
    assert run("encode", src, s16, "--bpp", "4") == 0
    _error(capsys, "decode", s16, tmp_path / "c16.jpg", match="16-bit")
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
    # the codebook is not in the stream: decoding needs it bound to the codec (-o codebook=PATH)
    assert cli.main(["decode", str(tmp_path / "s.wvc"), str(tmp_path / "a.png")]) != 0
    assert "codebook" in capsys.readouterr().err
    assert cli.main(["decode", str(tmp_path / "s.wvc"), str(tmp_path / "b.png"), "-o", f"codebook={cb_path}"]) == 0
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


# =============================================================================== faithful I/O (issue 16)

try:
    import imagecodecs

    HAVE_IMAGECODECS = True
except ImportError:  # pragma: no cover - imagecodecs is in the test extra
    HAVE_IMAGECODECS = False


@pytest.mark.parametrize("suffix", [".tif", ".png"])
def test_16bit_colour_in_and_out_without_loss(tmp_path, rgb16, suffix):
    if suffix == ".png" and not HAVE_IMAGECODECS:
        pytest.skip("16-bit colour PNG goes through imagecodecs, not installed: pip install 'wavecodec[standard]' (the test extra has it)")
    from wavecodec._image_files import read_image, write_image

    image = np.array(rgb16)
    src = tmp_path / f"in{suffix}"
    write_image(src, image)
    stream = tmp_path / "c.wvc"
    assert run("encode", src, stream, "--lossless") == 0
    info = wavecodec.info(stream.read_bytes())
    assert info.dtype == "uint16" and info.shape == image.shape and info.bit_depth == 16
    for out_suffix in (".tif", ".png", ".npy") if HAVE_IMAGECODECS else (".tif", ".npy"):
        out = tmp_path / f"out{out_suffix}"
        assert run("decode", stream, out) == 0
        back = read_image(out)
        assert back.dtype == np.uint16
        np.testing.assert_array_equal(back, image)


def test_alpha_refused_with_the_flag_named_then_dropped(tmp_path, astronaut_odd, capsys):
    rgb = np.array(astronaut_odd)
    alpha = np.full(rgb.shape[:2], 255, np.uint8)
    alpha[:4, :4] = 0
    Image.fromarray(np.dstack([rgb, alpha])).save(tmp_path / "rgba.png")
    stream = tmp_path / "a.wvc"
    err = _error(capsys, "encode", tmp_path / "rgba.png", stream, "--lossless", match="--drop-alpha")
    assert "alpha" in err and "16 of" in err
    assert not stream.exists()
    assert run("encode", tmp_path / "rgba.png", stream, "--lossless", "--drop-alpha") == 0
    np.testing.assert_array_equal(wavecodec.decode(stream.read_bytes()), rgb)
    # compare refuses alpha the same way, and takes the flag too
    _error(capsys, "compare", tmp_path / "rgba.png", stream, match="--drop-alpha")
    assert run("compare", tmp_path / "rgba.png", stream, "--drop-alpha") == 0
    assert "inf" in capsys.readouterr().out


def test_bytes_must_be_positive(tmp_path, gray_png, capsys):
    stream = tmp_path / "s.wvc"
    assert run("encode", gray_png, stream, "--bpp", "1") == 0
    for bad in ("-5", "0", "abc", "1.5"):
        _error(capsys, "decode", stream, tmp_path / "x.png", "--bytes", bad, match="--bytes")
    assert not (tmp_path / "x.png").exists()


def test_rate_beyond_what_the_image_needs_says_so(tmp_path, gray_png, capsys):
    stream = tmp_path / "s.wvc"
    assert run("encode", gray_png, stream, "--bpp", "1e9") == 0
    captured = capsys.readouterr()
    assert len(captured.out.strip().splitlines()) == 1  # stdout unchanged: one result line
    assert "more than this image needs" in captured.err and "--lossless" in captured.err
    size = len(stream.read_bytes())
    assert f"stream is {size} bytes" in captured.err
    assert run("encode", gray_png, stream, "--max-bytes", 10**9, "--lossless") == 0
    err = capsys.readouterr().err
    assert "lossless (bit-exact)" in err and "--max-bytes 1000000000" in err
    # a rate the image fills: no note
    assert run("encode", gray_png, stream, "--bpp", "0.5") == 0
    assert capsys.readouterr().err == ""


def _adapter_outputs():
    out = [("jpeg", ".jpg"), ("webp", ".webp")]
    if HAVE_IMAGECODECS:
        out += [("jpeg2000", ".j2k"), ("avif", ".avif"), ("jpegxl", ".jxl")]
    return out


@pytest.mark.parametrize("codec,suffix", _adapter_outputs())
def test_extract_writes_the_codecs_own_file(tmp_path, rgb_png, astronaut_odd, codec, suffix, capsys):
    stream = tmp_path / "s.wvc"
    assert run("encode", rgb_png, stream, "--codec", codec, "--bpp", "1.5") == 0
    out = tmp_path / f"s{suffix}"
    assert run("extract", stream, out) == 0
    data = stream.read_bytes()
    info = wavecodec.info(data)
    assert out.read_bytes() == data[info.header_size:]
    # the file opens with the codec's own reader, to the image wavecodec decodes
    if suffix in (".jpg", ".webp"):
        with Image.open(out) as im:
            assert im.format == {".jpg": "JPEG", ".webp": "WEBP"}[suffix]
            pixels = np.asarray(im.convert("RGB"))
    else:
        pixels = imagecodecs.imread(out.read_bytes())
    np.testing.assert_array_equal(pixels[:, :, :3], wavecodec.decode(data))
    # the wrong extension is refused, naming the right one
    _error(capsys, "extract", stream, tmp_path / "s.bmp", match=suffix)


def test_extract_refuses_wavecodec_codecs_and_truncated_streams(tmp_path, gray_png, capsys):
    stream = tmp_path / "s.wvc"
    assert run("encode", gray_png, stream, "--bpp", "1") == 0
    _error(capsys, "extract", stream, tmp_path / "s.jpg", match="wavecodec decode")
    assert run("encode", gray_png, stream, "--codec", "jpeg", "--bpp", "1") == 0
    data = stream.read_bytes()
    (tmp_path / "cut.wvc").write_bytes(data[:-10])
    _error(capsys, "extract", tmp_path / "cut.wvc", tmp_path / "cut.jpg", match="truncated")
    assert not (tmp_path / "cut.jpg").exists()


def test_compare_prints_psnr_ms_ssim_and_bpp(tmp_path, gray_png, camera_odd, capsys):
    from wavecodec.metrics import ms_ssim, psnr as wpsnr

    stream = tmp_path / "s.wvc"
    assert run("encode", gray_png, stream, "--bpp", "0.5") == 0
    capsys.readouterr()
    assert run("compare", gray_png, stream) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    decoded = wavecodec.decode(stream.read_bytes())
    assert lines[0] == f"PSNR     {wpsnr(camera_odd, decoded):.2f} dB"
    assert lines[1] == f"MS-SSIM  {ms_ssim(camera_odd, decoded):.4f}"
    assert lines[2].startswith(f"bpp      {8 * len(stream.read_bytes()) / camera_odd.size:.4f} (")
    assert len(lines) == 3
    # two images: no bpp line; identical: PSNR inf
    assert run("compare", gray_png, gray_png) == 0
    out = capsys.readouterr().out
    assert "inf" in out and "bpp" not in out
    # different shapes: an error naming B
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "small.png")
    _error(capsys, "compare", gray_png, tmp_path / "small.png", match="B:")


def test_compare_uses_the_streams_bit_depth_as_peak(tmp_path, gray16_png, gray12, capsys):
    stream = tmp_path / "g.wvc"
    assert run("encode", gray16_png, stream, "--bpp", "2") == 0
    capsys.readouterr()
    assert run("compare", gray16_png, stream) == 0
    out = capsys.readouterr().out
    assert "peak 4095, 12-bit" in out
    assert out.startswith(f"PSNR     {psnr(gray12, wavecodec.decode(stream.read_bytes()), peak=4095):.2f} dB")


# =============================================================================== feedback on stderr


def test_progress_line_on_request_only_on_stderr(tmp_path, gray_png, monkeypatch, capsys):
    from wavecodec import _feedback

    monkeypatch.setattr(_feedback, "_PROGRESS_DELAY_S", 0.0)  # show it at once
    stream = tmp_path / "s.wvc"
    assert run("encode", gray_png, stream, "--bpp", "1", "--progress") == 0
    captured = capsys.readouterr()
    assert captured.out.count("\n") == 1 and "wavecodec:" not in captured.out
    assert f"wavecodec: encoding {gray_png} with spiht" in captured.err and captured.err.rstrip().endswith("done")
    assert run("decode", stream, tmp_path / "o.png", "--progress") == 0
    assert "wavecodec: decoding" in capsys.readouterr().err
    # not a terminal (pytest captures stderr) and no flag: nothing
    assert run("encode", gray_png, stream, "--bpp", "1") == 0
    assert capsys.readouterr().err == ""
    assert run("encode", gray_png, stream, "--bpp", "1", "--no-progress") == 0
    assert capsys.readouterr().err == ""


def test_progress_appears_only_after_the_delay():
    import io
    import time

    from wavecodec._feedback import Progress

    fast = io.StringIO()
    with Progress("quick", enabled=True, stream=fast, delay=5.0):
        pass
    assert fast.getvalue() == ""
    slow = io.StringIO()
    with Progress("slow job", enabled=True, stream=slow, delay=0.05) as progress:
        time.sleep(0.3)
        progress.message("a line of its own")
        time.sleep(1.2)
    text = slow.getvalue()
    assert "wavecodec: slow job... " in text and "a line of its own\n" in text and text.endswith("done\n")
    off = io.StringIO()
    with Progress("off", enabled=False, stream=off, delay=0.0):
        time.sleep(0.1)
    assert off.getvalue() == ""


_PROBE = """
import numpy as np
from numba import njit

@njit(cache=True)
def probe_kernel(x):
    return x + 1
"""

_RUN_PROBE = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("wavecodec._notice_probe", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules["wavecodec._notice_probe"] = module  # a kernel module of wavecodec, as far as the notice can tell
spec.loader.exec_module(module)
from wavecodec._feedback import CompileNotice
with CompileNotice("probe"):
    module.probe_kernel(1)
    module.probe_kernel(2)
"""


def test_compile_notice_once_on_a_cold_cache_and_never_when_cached(tmp_path):
    # a real Numba compile in fresh processes: the first one compiles (one line), the second loads the cache
    import os
    import subprocess
    import sys

    (tmp_path / "probe.py").write_text(_PROBE)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    runs = [subprocess.run([sys.executable, "-c", _RUN_PROBE, str(tmp_path / "probe.py")], capture_output=True,
                           text=True, env=env, timeout=300) for _ in range(2)]
    for r in runs:
        assert r.returncode == 0, r.stderr
    assert runs[0].stderr == "wavecodec: compiling kernels for probe, first use only...\n"
    assert runs[1].stderr == ""


def test_compile_notice_ignores_other_packages_kernels(capsys):
    from numba import njit

    from wavecodec._feedback import CompileNotice

    with CompileNotice("spiht"):
        njit(lambda x: x * 2)(3)  # not a wavecodec kernel (module tests.test_cli)
    assert capsys.readouterr().err == ""


def test_compare_takes_decode_options_for_shared_codebooks(tmp_path, camera, capsys):
    from wavecodec.coders import vq_dct as V

    crop = np.ascontiguousarray(camera[128:256, 128:256])
    cb = V.train_codebook([camera[:128, :128], camera[256:384, 256:384]], k=10, size=32)
    cb.save(tmp_path / "cb.wvcb")
    Image.fromarray(crop).save(tmp_path / "in.png")
    assert run("encode", tmp_path / "in.png", tmp_path / "s.wvc", "--codec", "vq-dct", "-o",
               f"codebook={tmp_path / 'cb.wvcb'}") == 0
    _error(capsys, "compare", tmp_path / "in.png", tmp_path / "s.wvc", match="codebook")
    assert run("compare", tmp_path / "in.png", tmp_path / "s.wvc", "-o", f"codebook={tmp_path / 'cb.wvcb'}") == 0
    assert "PSNR" in capsys.readouterr().out
