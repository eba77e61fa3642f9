"""Golden streams: the exact bytes every built-in codec writes, pinned by SHA-256.

A stream is the product: a paper that cites "wavecodec SPIHT at 0.25 bpp" must get
the same bytes from every later release.  Each case below encodes one small image
with one codec variant at one rate (or losslessly) and pins

* the SHA-256 of the whole stream (container header + payload),
* the SHA-256 of the decoded image (shape, dtype and samples),
* for embedded codecs, the SHA-256 of the image decoded from the header and the
  first half of the payload (the decoder's prefix behaviour is part of the format too).

The expected values live in ``tests/expected/golden_streams.json``.  Any change of a
stream fails here.  Regenerating them is allowed **only** together with a format
version bump listed in the changelog of ``docs/format.md`` ("Golden streams and
format versions"); it takes an explicit environment variable::

    WAVECODEC_REGENERATE_GOLDEN=1 python -m pytest tests/test_golden.py

which rewrites the file from the current code (then review the diff and commit it
with the version bump).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

import wavecodec
from wavecodec import _container

from conftest import make_image

EXPECTED = Path(__file__).parent / "expected" / "golden_streams.json"
REGENERATE = os.environ.get("WAVECODEC_REGENERATE_GOLDEN") == "1"


# --------------------------------------------------------------------------- images


def _images() -> dict[str, np.ndarray]:
    from skimage import data

    return {
        # 96x128 crop of camera (the man's coat and the tripod: edges and flat areas)
        "camera96x128": np.ascontiguousarray(data.camera()[120:216, 180:308]),
        # 64x96x3 crop of astronaut (face and suit)
        "astronaut64x96": np.ascontiguousarray(data.astronaut()[50:114, 170:266]),
        # odd-sized synthetic gray image: gradients, texture, a diagonal edge, noise
        "synthetic37x53": make_image(37, 53, seed=12),
    }


IMAGES = _images()
IMAGE_NAMES = tuple(IMAGES)


def _shared_codebook(colour: bool):
    """A small vq-dct codebook trained (deterministically) on images other than the test images."""
    from skimage import data

    from wavecodec.coders.vq_dct import train_codebook

    if colour:
        train = [np.ascontiguousarray(data.astronaut()[300:428, 300:428])]
    else:
        train = [np.ascontiguousarray(data.camera()[300:428, 300:428])]
    return train_codebook(train, block=4, k=10, size=32, seed=0)


# --------------------------------------------------------------------------- cases

#: codec variant name -> (codec, options, has_lossless); "codebook": "shared" stands for a codebook trained here
VARIANTS = {
    "spiht-ac": ("spiht", {"variant": "ac"}, True),
    "spiht-binary": ("spiht", {"variant": "binary"}, True),
    "ezw-ac-strict": ("ezw", {"variant": "ac", "scan": "strict"}, True),
    "ezw-ac-rescan": ("ezw", {"variant": "ac", "scan": "rescan"}, True),
    "ezw-plain-strict": ("ezw", {"variant": "plain", "scan": "strict"}, True),
    "ezw-plain-rescan": ("ezw", {"variant": "plain", "scan": "rescan"}, True),
    "ezw-ac-shapiro-order": ("ezw", {"variant": "ac", "pass_order": "shapiro"}, False),
    "imp1ezw-ac": ("imp1ezw", {"variant": "ac"}, True),
    "imp1ezw-plain": ("imp1ezw", {"variant": "plain"}, True),
    "canny-spiht-edges": ("canny-spiht", {"use_edges": "always"}, True),
    "canny-spiht-auto": ("canny-spiht", {"use_edges": "auto"}, False),
    "canny-ecbp-edges": ("canny-ecbp", {"use_edges": "always"}, True),
    "canny-ecbp-auto": ("canny-ecbp", {"use_edges": "auto"}, False),
    "vq-dct": ("vq-dct", {}, False),
    "vq-dct-shared-codebook": ("vq-dct", {"codebook": "shared"}, False),
    "ecbp": ("ecbp", {}, True),
    "ecbp-subband-klt": ("ecbp", {"colour": "subband-klt"}, False),
}

RATES = (0.25, 1.0)  # bpp: 0.25 exercises the quantiser-step search (<= 0.3 bpp), 1.0 does not


def _rates(options: dict) -> tuple[str, ...]:
    if options.get("codebook") == "shared":
        return ("default",)  # a shared codebook sets the rate: coded without a budget
    return tuple(f"{r}bpp" for r in RATES)


def _cases() -> list[tuple[str, str, str]]:
    cases = []
    for variant, (codec, options, has_lossless) in VARIANTS.items():
        for image in IMAGE_NAMES:
            for rate in _rates(options):
                cases.append((variant, image, rate))
            if has_lossless:
                cases.append((variant, image, "lossless"))
    return cases


CASES = _cases()


def case_id(variant: str, image: str, rate: str) -> str:
    return f"{variant}/{image}/{rate}"


def _digest(a: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(f"{a.dtype.str}{a.shape}".encode())
    h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


_CODEBOOKS: dict[bool, object] = {}


def run_case(variant: str, image: str, rate: str) -> dict:
    """Encode and decode one case; return its pinned fields."""
    codec, options, _ = VARIANTS[variant]
    img = IMAGES[image]
    options = dict(options)
    if options.get("codebook") == "shared":
        colour = img.ndim == 3
        if colour not in _CODEBOOKS:
            _CODEBOOKS[colour] = _shared_codebook(colour)
        options["codebook"] = _CODEBOOKS[colour]
    if rate == "lossless":
        stream = wavecodec.encode(img, codec, lossless=True, **options)
    elif rate == "default":
        stream = wavecodec.encode(img, codec, **options)
    else:
        stream = wavecodec.encode(img, codec, bpp=float(rate.removesuffix("bpp")), **options)
    # a shared codebook is not in the stream: decode with the codec object bound to it
    out = wavecodec.decode(stream, codec=wavecodec.get_codec(codec, codebook=options["codebook"])
                           if "codebook" in options else None)
    fields = {
        "bytes": len(stream),
        "stream_sha256": hashlib.sha256(stream).hexdigest(),
        "decoded_sha256": _digest(out),
    }
    described = wavecodec.info(stream)
    if wavecodec.get_codec(codec).capabilities.embedded:
        half = described.header_size + described.payload_size // 2
        fields["half_payload_decoded_sha256"] = _digest(wavecodec.decode(stream[:half]))
    params = described.params
    if codec in ("canny-spiht", "canny-ecbp"):
        fields["mode"] = params["mode"]
    return fields


def _load_expected() -> dict:
    if not EXPECTED.exists():
        return {}
    return json.loads(EXPECTED.read_text())


# --------------------------------------------------------------------------- tests


@pytest.fixture(scope="module")
def expected():
    data = _load_expected()
    yield data
    if REGENERATE:
        data["format_version"] = _container.FORMAT_VERSION
        data["cases"] = dict(sorted(data.get("cases", {}).items()))
        EXPECTED.parent.mkdir(exist_ok=True)
        EXPECTED.write_text(json.dumps(data, indent=1) + "\n")


@pytest.mark.parametrize("variant,image,rate", CASES, ids=[case_id(*c) for c in CASES])
def test_golden_stream(expected, variant, image, rate):
    key = case_id(variant, image, rate)
    got = run_case(variant, image, rate)
    if REGENERATE:
        expected.setdefault("cases", {})[key] = got
        return
    cases = expected.get("cases", {})
    assert key in cases, (f"no golden entry for {key}: new cases are added with "
                          "WAVECODEC_REGENERATE_GOLDEN=1 (see docs/format.md)")
    want = cases[key]
    assert got == want, (
        f"{key}: the stream or its decoding changed ({want['bytes']} -> {got['bytes']} bytes). Streams must stay"
        " byte-identical unless the format version is bumped and the change listed in docs/format.md's changelog.")


def test_golden_file_matches_the_format_version():
    """The pinned streams belong to the format version this library writes; no stale entries."""
    data = _load_expected()
    assert data.get("format_version") == _container.FORMAT_VERSION
    assert set(data.get("cases", {})) == {case_id(*c) for c in CASES}


@pytest.mark.parametrize("codec,coder", [("canny-spiht", "spiht"), ("canny-ecbp", "ecbp")])
def test_canny_cases_cover_both_modes(codec, coder):
    """One case uses the edge layer and at least one falls back to the plain stream, as the issue asks."""
    modes = {v["mode"] for k, v in _load_expected().get("cases", {}).items() if k.startswith(codec + "-")}
    assert modes == {"edges+" + coder, coder}
    data = _load_expected()["cases"]
    assert all(data[case_id(codec + "-edges", im, "1.0bpp")]["mode"] == "edges+" + coder for im in IMAGE_NAMES)


def test_the_digest_sees_every_change():
    """The image digest changes with one sample, with the shape and with the dtype."""
    a = np.zeros((4, 6), np.uint8)
    b = a.copy()
    b[3, 5] = 1
    assert len({_digest(a), _digest(b), _digest(a.reshape(6, 4)), _digest(a.astype(np.uint16))}) == 4


# Streams written by earlier encoders for golden cases whose pins changed by an
# encoder-only change: the decoder must read them as it did (tests/expected/superseded).
SUPERSEDED = {
    "vq-dct_astronaut64x96_1.0bpp_f781edd.wvc": (
        "661d96c84a07351fcf9ccf6e782775a54eae048a8acb2d5b0b95e07d86f6fad4",
        "0736f114e1e7691c272a1699c3264395b133d202df255086cfe8f2725bdc73ae",
    ),
    # written at 8e2278d; pins changed by issue 15's third vq-dct speed step (rate-weight fit by interpolation)
    "vq-dct_astronaut64x96_0.25bpp_8e2278d.wvc": (
        "d20cd62e0fbfdfc0fe5a0fbe14743e6912454120ea10662c3220607dd2d21285",
        "3b634accbd3d86f5f289184a6c140cc962a5c6612ec3a0c0eeea5f48081c448f",
    ),
    "vq-dct_astronaut64x96_1.0bpp_8e2278d.wvc": (
        "4801e745d016bea97bc949f481505abd4d4d536d3af35ef179ab87b4b5ef6e7b",
        "7425d67c370fa33e1843f4e6972ca4d98ac42de8b74d3bccb8961d4cc917a2cd",
    ),
    # written at b73bddb, whose pin went back to the 8e2278d stream at the next commit (optimiser budget by
    # codewords x blocks: the small image's codebook gets the 10 x 8 budget again)
    "vq-dct_camera96x128_1.0bpp_b73bddb.wvc": (
        "ad1c618094155448a89fbde7d7ccf3aef7c7f88aa7b6fc7c50a84944dec496c0",
        "a49a1020b81c715c07d6702feebd738ad90b16e781f5c46ad6469cd4316c80e2",
    ),
    # written at 0ecfe62; pin changed when canny-ecbp's colour residual took ecbp's own colour choice (the subband KLT)
    "canny-ecbp-edges_astronaut64x96_1.0bpp_0ecfe62.wvc": (
        "e6c6b4dfe9d0ebe738d899688a29bd7bb490f8d80a24ebc2a05ff19c6b8efa0e",
        "7856282eefbe6e572d5933b577bcd8afc35ece97efb0ca1da9b7707af0fe7f98",
    ),
    # written at 50a39b6; pins changed by ecbp's colour="auto" taking the subband KLT from 480-byte budgets (was 2400)
    "ecbp_astronaut64x96_1.0bpp_50a39b6.wvc": (
        "510a698dfb45c4e1d21cf65686a0dc2a4b98a6ba330da9e0f6920b3d5ad8d920",
        "03bdd169eb2f24b84eb7b791e07b510aa70d19828e2bac57d207a76fc33150ca",
    ),
    "canny-ecbp-auto_astronaut64x96_1.0bpp_50a39b6.wvc": (
        "212dca85e143ed6277e25c47e6dabe500b74e076913c8eff12714cbf5c5e3f38",
        "0e94e004d5affb8fc93df55f06224bf15d788d004d929639128f0f375e4ea557",
    ),
    # written at 46795dd, the last commit before ecbp's second table of priors: its lossy streams (variant
    # byte 1, the first table) must decode as they did; every lossy ecbp and canny-ecbp pin changed then
    "canny-ecbp-auto_astronaut64x96_0.25bpp_46795dd.wvc": (
        "cb84fd52553ea368fcffc59d2bc075692a71805bbbd67ffc72a2dd8694088c8d",
        "62407d627e255a6d2e4e6371adb2abe5970dc8d8be92e3cc22f1850504fa1269",
    ),
    "canny-ecbp-auto_astronaut64x96_1.0bpp_46795dd.wvc": (
        "5e14b59a5a501529cc89c30dbf040eb90ff36d9b214a256beccde38a2805a82c",
        "a8b305b4aa2d217b08b13a60abba875b6f032fb3473e83e204b5fac425005a9f",
    ),
    "canny-ecbp-auto_camera96x128_0.25bpp_46795dd.wvc": (
        "1f29fa9d9949ea2507638d3dc93e5afb66bcd8f3c780aac608efcda0f0dafc14",
        "d3fefdd59e61ff9b538e58ebb7f983163b47c960dcbaa8091dbdb98a89d08fc8",
    ),
    "canny-ecbp-auto_camera96x128_1.0bpp_46795dd.wvc": (
        "45be265df9fa6b25721b6adaf3196afce2f00eb38af46a309f496406027a9de6",
        "2dcacd67b52e72afe2f54d750ac7f76c8c4108bce3fb4221bc546ff57a628246",
    ),
    "canny-ecbp-auto_synthetic37x53_0.25bpp_46795dd.wvc": (
        "fad0a61ee919cb202ffdafc3f03c251e0fe0ab6edcb47acc1b0fd62d90fd5ab9",
        "ea322170627dcd3fd4ae7dc3b78dfafb115535935c2a50d00805d0ff5d38edbb",
    ),
    "canny-ecbp-auto_synthetic37x53_1.0bpp_46795dd.wvc": (
        "405b7f04652d6cd0845b68a4230652c137c9e9959e74f7a75ef37c5d66d6b9b7",
        "9cea9285e744512a6cd640f5c9cc897cc4784f1ebe7e33b331869ac20ccb8f81",
    ),
    "canny-ecbp-edges_astronaut64x96_0.25bpp_46795dd.wvc": (
        "cb84fd52553ea368fcffc59d2bc075692a71805bbbd67ffc72a2dd8694088c8d",
        "62407d627e255a6d2e4e6371adb2abe5970dc8d8be92e3cc22f1850504fa1269",
    ),
    "canny-ecbp-edges_astronaut64x96_1.0bpp_46795dd.wvc": (
        "48bd75779ea1d15c964ef68fb69b59496e7b22a31027874afc718ddc288aa63d",
        "57739febf41096bcc1498acbbf74ff078586e25bb171d7829c8afcb491a4a9d6",
    ),
    "canny-ecbp-edges_camera96x128_0.25bpp_46795dd.wvc": (
        "cc7d8428a1f9745003faf5803ee8974ed23187e607958ccf5e10dc0691d23f81",
        "3557073410b4e8829605258fb3470d9cd0ecde7be328b8a1264b3222788b7854",
    ),
    "canny-ecbp-edges_camera96x128_1.0bpp_46795dd.wvc": (
        "6968bf7d5ea5262603f27e91688a459711ad40ea47eb18b1a11339357b2a7d80",
        "4d092a51a1056bc3870c080334d6cfc5da37eb4c1c9a2eadcb8dbe546597b266",
    ),
    "canny-ecbp-edges_synthetic37x53_0.25bpp_46795dd.wvc": (
        "fad0a61ee919cb202ffdafc3f03c251e0fe0ab6edcb47acc1b0fd62d90fd5ab9",
        "ea322170627dcd3fd4ae7dc3b78dfafb115535935c2a50d00805d0ff5d38edbb",
    ),
    "canny-ecbp-edges_synthetic37x53_1.0bpp_46795dd.wvc": (
        "ada3ce862b2d7ce3efdc213df7e358d44e2b7a1073ddd29287b888805101e3cd",
        "e75ad3f947bbeb0e5897970b7f2d6d2d42b12e339732bde0f89f507d74a13b19",
    ),
    "ecbp-subband-klt_astronaut64x96_0.25bpp_46795dd.wvc": (
        "308993f935ba5ae9909b9a68e5e7147e8d4ce26bebcfed83a83a4f9ca4ccbbd8",
        "d5ccc77ecf78b3a80acd9c8facb49c8352ed2bda2dbaf313401221ef8e79b68f",
    ),
    "ecbp-subband-klt_astronaut64x96_1.0bpp_46795dd.wvc": (
        "34dae721258e3c71c4ae1007ee03731f981a89d530b28a9222dcd4f6f63953c5",
        "0d65a2cd8d8ef71a021b27a0de418c56fa58b5cc928d77c1ab540a95edb71781",
    ),
    "ecbp-subband-klt_camera96x128_0.25bpp_46795dd.wvc": (
        "170ac83ba137ddd1790e0f3f2ba5e61a8bc3d3c12e54ea0879ebb8419eab2178",
        "b7af5a907cc74e5488bcf0184e38c90777bdeb4378dcdb0093475ce160835401",
    ),
    "ecbp-subband-klt_camera96x128_1.0bpp_46795dd.wvc": (
        "b56d12d1bb29e30cf48eaa09f28aef565886ab2e86532ebb7636f9b253d469ba",
        "ff2cdc8d400e6ec47226e6802dd205d69fde6141d63b1e033cfd5f5de02ee175",
    ),
    "ecbp-subband-klt_synthetic37x53_0.25bpp_46795dd.wvc": (
        "dbda5fa39c23e9d59ab5eb7f74d62cba5635ba34715496d824b15bd310d619b5",
        "c9fcf678d401e32e8ff2538fe0caca97b7ff78af510c3a0dc9ea49bcb5feda08",
    ),
    "ecbp-subband-klt_synthetic37x53_1.0bpp_46795dd.wvc": (
        "b9e046848c621f3b0a05f50af54b85ef62fe66e53445406c7f2375479ce7f90a",
        "3b71633d9c024de31c2b503273f8f06e0481fa5d97bc22e18d92bb03ecdddbbb",
    ),
    "ecbp_astronaut64x96_0.25bpp_46795dd.wvc": (
        "41e825081717818dec447ff07fa111996d566f8769151fb28bec56d2fb3ff7e4",
        "683c7b3e2ea9f066caa444b700f7ed2544f97e2a5dc58e7de7ab918acb6ba25c",
    ),
    "ecbp_astronaut64x96_1.0bpp_46795dd.wvc": (
        "34dae721258e3c71c4ae1007ee03731f981a89d530b28a9222dcd4f6f63953c5",
        "0d65a2cd8d8ef71a021b27a0de418c56fa58b5cc928d77c1ab540a95edb71781",
    ),
    "ecbp_camera96x128_0.25bpp_46795dd.wvc": (
        "170ac83ba137ddd1790e0f3f2ba5e61a8bc3d3c12e54ea0879ebb8419eab2178",
        "b7af5a907cc74e5488bcf0184e38c90777bdeb4378dcdb0093475ce160835401",
    ),
    "ecbp_camera96x128_1.0bpp_46795dd.wvc": (
        "b56d12d1bb29e30cf48eaa09f28aef565886ab2e86532ebb7636f9b253d469ba",
        "ff2cdc8d400e6ec47226e6802dd205d69fde6141d63b1e033cfd5f5de02ee175",
    ),
    "ecbp_synthetic37x53_0.25bpp_46795dd.wvc": (
        "dbda5fa39c23e9d59ab5eb7f74d62cba5635ba34715496d824b15bd310d619b5",
        "c9fcf678d401e32e8ff2538fe0caca97b7ff78af510c3a0dc9ea49bcb5feda08",
    ),
    "ecbp_synthetic37x53_1.0bpp_46795dd.wvc": (
        "b9e046848c621f3b0a05f50af54b85ef62fe66e53445406c7f2375479ce7f90a",
        "3b71633d9c024de31c2b503273f8f06e0481fa5d97bc22e18d92bb03ecdddbbb",
    ),
}


@pytest.mark.parametrize("name", sorted(SUPERSEDED))
def test_superseded_stream_decodes_as_pinned(name):
    stream = (EXPECTED.parent / "superseded" / name).read_bytes()
    stream_sha, decoded_sha = SUPERSEDED[name]
    assert hashlib.sha256(stream).hexdigest() == stream_sha  # the file is the stream that was pinned
    assert _digest(wavecodec.decode(stream)) == decoded_sha
