"""wavecodec.trace: pass-by-pass tables for teaching (Shapiro's example, SPIHT's test vector)."""

import numpy as np
import pytest

import wavecodec
from wavecodec.trace import SHAPIRO_8X8, trace


def test_ezw_shapiro_first_two_passes():
    t = trace(SHAPIRO_8X8, codec="ezw", levels=3, passes=2)
    assert [p.threshold for p in t.passes] == [32, 16]
    p1, p2 = t.passes
    assert p1.bits("dominant") == "P N IZ ZTR P ZTR ZTR ZTR ZTR IZ ZTR ZTR Z Z Z Z Z P Z Z"
    assert p1.bits("subordinate") == "1010"
    rec = p1.reconstruction
    assert [rec[0, 0], rec[0, 1], rec[0, 2], rec[4, 3]] == [56, -40, 56, 40]
    assert np.count_nonzero(rec) == 4
    assert p2.bits("subordinate") == "100110"
    rec = p2.reconstruction
    # list order 63, 49, 34, 47, 31, 23 (Shapiro's ordering by decoder-known magnitude)
    assert [abs(rec[i, j]) for i, j in [(0, 0), (0, 2), (0, 1), (4, 3), (1, 0), (1, 1)]] == [60, 52, 36, 44, 28, 20]
    # positions and subbands are reported
    first = p1.symbols[0]
    assert (first.row, first.col, first.subband, first.value, first.symbol) == (0, 0, "LL3", 63, "P")
    assert p1.symbols[1].subband == "HL3" and p1.symbols[2].subband == "LH3" and p1.symbols[3].subband == "HH3"
    assert "threshold 32" in str(t) and "ZTR" in str(t)


def test_ezw_rescan_convention():
    t = trace(SHAPIRO_8X8, codec="ezw", levels=3, passes=2, scan="rescan")
    assert t.passes[1].bits("dominant") == "IZ ZTR N P ZTR ZTR ZTR ZTR ZTR ZTR ZTR ZTR"


def test_imp1ezw_shapiro_first_pass():
    t = trace(SHAPIRO_8X8, codec="imp1ezw", levels=3, passes=2)
    p1, p2 = t.passes
    # 49 and its zerotree are one PT symbol: 16 symbols instead of EZW's 20
    assert p1.bits("dominant") == "P N IZ ZTR PT ZTR ZTR ZTR ZTR IZ ZTR ZTR Z P Z Z"
    assert p1.bits("subordinate") == "1010"
    rec = p1.reconstruction
    assert [rec[0, 0], rec[0, 1], rec[0, 2], rec[4, 3]] == [56, -40, 56, 40]
    # -31 and 23 become significant with insignificant subtrees: NT, PT
    assert p2.bits("dominant").split()[:2] == ["NT", "PT"]
    assert p2.reconstruction[1, 0] == -28 and p2.reconstruction[1, 1] == 20  # after the refinement, as in EZW
    with pytest.raises(wavecodec.InvalidArgumentError, match="scan"):
        trace(SHAPIRO_8X8, codec="imp1ezw", levels=3, scan="rescan")


def test_spiht_test_vector_through_trace():
    t = trace(SHAPIRO_8X8, codec="spiht", levels=2, passes=3)
    assert t.passes[0].bits() == "1+1-0011+000100000010101+0000"
    sorting = "".join(s.symbol for s in t.passes[1].symbols if s.kind != "refine")
    assert sorting == "1-1+000000000000000"
    assert t.passes[1].bits("refine") == "1010"
    # the reconstruction after the first plane: 63, -34, 49, 47 at 48 (midpoint of [32, 64))
    rec = t.passes[0].reconstruction
    assert [rec[0, 0], rec[0, 1], rec[0, 2], rec[4, 3]] == [48, -48, 48, 48]


def test_trace_an_image_and_plot(tmp_path):
    from skimage import data

    img = data.camera()[100:164, 150:214]
    t = wavecodec.trace(img, codec="ezw", passes=3)
    assert len(t.passes) == 3
    errors = [np.abs(t.image(k).astype(float) - img).mean() for k in range(3)]
    assert errors[0] > errors[1] > errors[2]  # each pass improves the decoded image
    assert t.psnr(0) < t.psnr(1) < t.psnr(2) and 0 < t.bpp(0) < t.bpp(1) < t.bpp(2)
    path = tmp_path / "trace.png"
    t.plot(str(path))
    assert path.stat().st_size > 1000


def test_trace_errors():
    with pytest.raises(wavecodec.InvalidArgumentError, match="levels"):
        trace(SHAPIRO_8X8, codec="ezw")
    with pytest.raises(wavecodec.InvalidArgumentError, match="multiples"):
        trace(SHAPIRO_8X8, codec="spiht", levels=3)
    with pytest.raises(wavecodec.InvalidArgumentError, match="codec"):
        trace(SHAPIRO_8X8, codec="jpeg", levels=3)
    with pytest.raises(wavecodec.InvalidArgumentError, match="2-D"):
        trace(np.zeros((4, 4, 3), np.uint8), codec="ezw")
    with pytest.raises(wavecodec.InvalidArgumentError, match="passes"):
        trace(SHAPIRO_8X8, codec="ezw", levels=3, passes=0)
    with pytest.raises(wavecodec.InvalidArgumentError, match="from coefficients"):
        trace(SHAPIRO_8X8, codec="ezw", levels=3).image(0)
    with pytest.raises(wavecodec.InvalidArgumentError, match="pass_order"):
        trace(SHAPIRO_8X8, codec="spiht", levels=2, pass_order="shapiro")
    with pytest.raises(wavecodec.InvalidArgumentError, match="pass_order"):
        trace(SHAPIRO_8X8, codec="ezw", levels=3, pass_order="random")
    with pytest.raises(wavecodec.InvalidArgumentError, match="integers"):
        trace(SHAPIRO_8X8.astype(float), codec="ezw", levels=3)


def test_spiht_lists_after_each_pass():
    t = trace(SHAPIRO_8X8, codec="spiht", levels=2, passes=2)
    p1, p2 = t.passes
    # Said & Pearlman's worked example: the lists once the first sorting pass is over
    assert p1.lsp == [(0, 0), (0, 1), (0, 2), (4, 3)]
    assert p1.lis == [(1, 1, "A"), (0, 1, "B"), (2, 0, "A"), (3, 0, "A"), (3, 1, "A")]
    assert p1.lip == [(1, 0), (1, 1), (0, 3), (1, 2), (1, 3), (2, 0), (2, 1), (3, 0), (3, 1), (4, 2), (5, 2), (5, 3)]
    assert p2.lsp == p1.lsp + [(1, 0), (1, 1)] and p2.lip == p1.lip[2:]
    text = str(t)
    assert "LIS: (1,1)A (0,1)B (2,0)A (3,0)A (3,1)A" in text and "LSP: (0,0) (0,1) (0,2) (4,3)" in text
    assert t.passes[0].subordinate_list is None
    assert trace(SHAPIRO_8X8, codec="ezw", levels=3, passes=1).passes[0].subordinate_list == [
        (0, 0), (0, 2), (0, 1), (4, 3)]  # re-ordered by decoded magnitude: 56, 56, 40, 40


@pytest.mark.parametrize("codec, levels, variant", [("spiht", 2, "binary"), ("ezw", 3, "plain"),
                                                    ("imp1ezw", 3, "plain")])
def test_trace_bits_are_the_raw_variant_payload(codec, levels, variant):
    from wavecodec.coders import ezw, imp1ezw, spiht
    from wavecodec.reference import pack_bits

    t = trace(SHAPIRO_8X8, codec=codec, levels=levels)
    bits = [int(b) for p in t.passes for s in p.symbols for b in s.bits]
    assert len(bits) == t.passes[-1].total_bits == sum(p.bit_count for p in t.passes)
    q = SHAPIRO_8X8[None]
    if codec == "spiht":
        payload = spiht.encode_coefficients(q, variant=variant, levels=levels, n_max=5, budget=None).payload
    else:
        module = ezw if codec == "ezw" else imp1ezw
        payload = module.encode_coefficients(q, variant=variant, order="shapiro", levels=levels, n_max=5,
                                             budget=None).payload
    assert pack_bits(bits) == payload


def test_bpp_and_psnr_per_pass():
    t = trace(SHAPIRO_8X8, codec="spiht", levels=2)
    assert len(t.passes) == 6
    assert [t.bpp(k) for k in range(2)] == [29 / 64, 52 / 64]
    psnr = [t.psnr(k) for k in range(len(t.passes))]
    assert all(a < b for a, b in zip(psnr, psnr[1:]))
    assert psnr[-1] > 40  # every magnitude known to within 1/2
    s = trace(SHAPIRO_8X8, codec="ezw", levels=3, pass_order="significance-first", passes=2)
    assert s.passes[0].bits("subordinate") == ""  # the coefficients just found wait for the next pass
    assert s.passes[1].bits("subordinate") == "1010"


def test_spiht_trace_alias_without_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        old = wavecodec.spiht_trace(SHAPIRO_8X8, levels=2, planes=3)
    new = trace(SHAPIRO_8X8, codec="spiht", levels=2, passes=3)
    assert [p.bitstring("all") for p in old.passes] == [p.bits() for p in new.passes]
    assert old.passes[1].bitstring("refinement") == "1010"
    assert "bit-plane n=5 (threshold 32)" in str(old)


def test_plot_coefficients(tmp_path):
    t = trace(SHAPIRO_8X8, codec="imp1ezw", levels=3, passes=3)
    path = tmp_path / "trace.png"
    t.plot(str(path))
    assert path.stat().st_size > 1000
