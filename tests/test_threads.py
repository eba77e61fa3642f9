"""No hidden state (issue 15): encoding and decoding from many threads at once gives the
serial results, for a mix of every built-in codec (vq-dct with and without a shared
codebook bound to a codec object)."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import wavecodec
from wavecodec.coders import vq_dct as V

from conftest import make_image

FAST_VQ = dict(iterations=2, population=4)


def _jobs(camera: np.ndarray, astronaut: np.ndarray) -> list[tuple]:
    """(label, codec or codec object, image, encode keywords): small images, small rates."""
    gray = [np.ascontiguousarray(camera[r:r + 48, c:c + 64]) for r, c in ((100, 200), (300, 120))]
    gray.append(make_image(37, 53, seed=3))
    colour = np.ascontiguousarray(astronaut[40:88, 160:224])
    shared = V.train_codebook([np.ascontiguousarray(camera[400:464, 400:464])], k=10, size=16)
    bound = wavecodec.get_codec("vq-dct", codebook=shared)
    jobs = []
    for i, img in enumerate(gray + [colour]):
        for bpp in (0.25, 1.0):
            jobs += [(f"spiht{i}/{bpp}", "spiht", img, dict(bpp=bpp)),
                     (f"ezw{i}/{bpp}", "ezw", img, dict(bpp=bpp)),
                     (f"imp1ezw{i}/{bpp}", "imp1ezw", img, dict(bpp=bpp)),
                     (f"canny-spiht{i}/{bpp}", "canny-spiht", img, dict(bpp=bpp, use_edges="always")),
                     (f"ecbp{i}/{bpp}", "ecbp", img, dict(bpp=bpp)),
                     (f"canny-ecbp{i}/{bpp}", "canny-ecbp", img, dict(bpp=bpp, use_edges="always")),
                     (f"vq-dct{i}/{bpp}", "vq-dct", img, dict(bpp=bpp, **FAST_VQ))]
    jobs += [(f"vq-dct-shared{i}", bound, img, {}) for i, img in enumerate(gray)]
    return jobs


def _run(job: tuple) -> tuple[str, str, str]:
    """(label, SHA-256 of the stream, SHA-256 of the decoded image)."""
    label, codec, img, kwargs = job
    if isinstance(codec, str):
        data = wavecodec.encode(img, codec, **kwargs)
        out = wavecodec.decode(data)
    else:
        data = codec.encode(img, **kwargs)
        out = codec.decode(data)
    return label, hashlib.sha256(data).hexdigest(), hashlib.sha256(np.ascontiguousarray(out).tobytes()).hexdigest()


@pytest.fixture(scope="module")
def jobs():
    from skimage import data

    return _jobs(data.camera(), data.astronaut())


def test_eight_threads_give_the_serial_results(jobs):
    serial = [_run(j) for j in jobs]
    # each job twice, in a shuffled order, so that different codecs and the same codec overlap
    order = np.random.default_rng(0).permutation(2 * len(jobs)) % len(jobs)
    with ThreadPoolExecutor(max_workers=8) as pool:
        threaded = list(pool.map(_run, [jobs[i] for i in order]))
    for i, got in zip(order, threaded):
        assert got == serial[i], got[0]
    assert {label.split("/")[0].rstrip("0123456789") for label, _, _ in serial} >= {
        "spiht", "ezw", "imp1ezw", "canny-spiht", "ecbp", "canny-ecbp", "vq-dct", "vq-dct-shared"}


def test_a_shared_codebook_stream_needs_the_bound_codec(jobs):
    """Decoding depends only on the arguments: a codec bound to the codebook in one thread
    teaches the registered codec nothing in another."""
    label, bound, img, _ = next(j for j in jobs if j[0].startswith("vq-dct-shared"))
    data = bound.encode(img)
    with ThreadPoolExecutor(max_workers=2) as pool:
        ok = pool.submit(bound.decode, data).result()
        refused = pool.submit(wavecodec.decode, data).exception()
    assert ok.shape == img.shape
    assert isinstance(refused, wavecodec.WavecodecError) and "codebook" in str(refused)
