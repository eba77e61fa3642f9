"""canny-ecbp: canny-spiht's edge layer with ``ecbp`` as the bit-plane coder.

The stream is canny-spiht's (docs/canny-spiht.md, "Stream layout": mode 0 a plain
stream, mode 1 the edge layer and the residual), with ``ecbp``'s parameter block and
payload wherever canny-spiht has SPIHT's.  The plain stream is ``ecbp``'s own choice
(its colour transform included); the residual is coded with the plain stream's
quantiser step and ``ecbp``'s colour choice (the ICT for images the decoder narrows).

It exists for the lowest rates: on the 24 Kodak gray images the edge layer adds to
``ecbp``'s context modelling, +0.18 / +0.21 dB over ``spiht`` at 0.02 / 0.05 bpp
against ``ecbp``'s +0.08 / +0.15 (docs/canny-ecbp.md).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping

from .._registry import Option, register
from . import _bitplane as B
from . import ecbp as EC
from ._options import check_levels_option, check_wavelet_option
from . import canny_spiht as CS
from .canny_spiht import CannySpihtCodec


class CannyEcbpCodec(CannySpihtCodec):
    name = "canny-ecbp"
    description = "Canny edge layer (chain codes + side samples) + ecbp (context-modelled bit planes) residual"
    reference = ("canny-spiht's edge layer (after Wang, Kang, Guo et al., Computer Science 2019) with the ecbp"
                 " coder (docs/ecbp.md)")
    coder: B.BitplaneCodec = EC.EcbpCodec()
    coder_options: Mapping[str, Any] = MappingProxyType(
        {"step_search": "auto", "reconstruction": "optimized", "colour": "auto"})
    residual_options: Mapping[str, Any] = MappingProxyType({"reconstruction": "optimized", "colour": "auto"})

    def residual_coding_options(self, n_samples: int) -> Mapping[str, Any]:
        """``ecbp``'s own colour choice for the residual, except for images the decoder narrows
        (:data:`~wavecodec.coders.canny_spiht.NARROW_MIN_SAMPLES` samples and more): the ICT, whose
        float32 residual the narrowed decoder adds to the base image within its memory bound."""
        if n_samples >= CS.NARROW_MIN_SAMPLES:
            return MappingProxyType({**self.residual_options, "colour": "ict"})
        return self.residual_options
    options = tuple(o for o in CannySpihtCodec.options if o.name not in ("wavelet", "levels")) + (
        Option("wavelet", "auto", "ecbp wavelet, as for ecbp", check=check_wavelet_option),
        Option("levels", None, "ecbp decomposition levels; None picks from the image size", check=check_levels_option),
    )


register(CannyEcbpCodec())
