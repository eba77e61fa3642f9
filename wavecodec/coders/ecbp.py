"""ECBP: an embedded, context-modelled bit-plane coder of wavelet coefficients (issue 17).

Not one paper's algorithm but the classical ingredients that beat SPIHT's
set partitioning, on the bit-plane framework of :mod:`wavecodec.coders._bitplane`
(the same front end, parameter block, quantiser-step search and reconstruction
points as ``spiht``):

* fractional bit-plane passes (D. Taubman, "High performance scalable image
  compression with EBCOT", IEEE TIP 9(7):1158-1170, 2000, Sec. III-B): per plane,
  significance of the coefficients whose neighbourhood is already significant,
  refinement, then a cleanup pass with run decisions on empty 4x4 blocks;
* significance sub-passes in order of the modelled probability of significance,
  i.e. of expected distortion decrease per bit (J. Li, S. Lei, IEEE TIP
  8(7):913-924, 1999, "rate-distortion optimized embedding");
* contexts from a weighted sum of the known neighbour, parent and children
  magnitudes (X. Wu, ECECOW, Asilomar 1997), the count of significant
  neighbours, band, and for chroma the co-located luma coefficient; sign contexts
  from the neighbours', parent's and luma's signs; refinement contexts;
* colour planes interleaved pass by pass (one embedded stream over Y, Cb, Cr in
  order of bit-plane and pass: with the chroma weights, that is the order of
  distortion decrease per bit across planes);
* context models starting from trained priors (:mod:`._ecbp_priors`; lossy streams
  from 2026-11-27 use the second table, trained on lossy streams only, which the
  variant byte names).

The kernels are :mod:`wavecodec._kernels.ecbp`; docs/ecbp.md measures what each
ingredient adds.  Embedded (any prefix of the payload decodes), lossless with the
integer 5/3 and the RCT, gray and colour, 8 and 16 bits.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from .._kernels import arith as _ac
from .._kernels import ecbp as _k
from .._kernels.pages import zeroed_buffer
from .._progress import report_progress
from .._registry import Capabilities, Option, register
from ..errors import CorruptStreamError
from . import _bitplane as B
from . import _ecbp_priors as _priors
from . import _subband_klt as _sklt
from ._bitplane import EncodeResult  # noqa: F401  (re-exported)


#: The table of priors of each value of a stream's ``models`` (its variant byte): 1 the first table
#: (every stream until 2026-11-27; lossless streams), 2 the second (lossy streams since).
PRIOR_TABLES = MappingProxyType({1: _priors.PRIORS, 2: _priors.LOSSY_PRIORS})


def initial_models(models: int = 2, priors: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Context models at the start of a stream: the trained priors of table ``models``
    (:data:`PRIOR_TABLES`), or every context at 1/2 for ``models=0`` (ablation, training);
    ``priors``, a candidate table (P(0) in 2**-15 units per context), replaces them (studies)."""
    table = PRIOR_TABLES.get(models) if priors is None else priors
    if table is not None:
        return _ac.models_from_priors(np.asarray(table), _priors.CONFIDENCE)
    return _ac.new_models(_k.N_CONTEXTS)


def _run_kernel(decoding: bool, coef: np.ndarray | None, shape: tuple, levels: int, n_max: int, state: np.ndarray,
                buf: np.ndarray, stats: np.ndarray | None, models: int,
                mag: np.ndarray | None = None, priors: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Run the coder (``coef`` None when decoding); returns the decoded state ``(mag, flags)``
    (the known magnitude bits; sign and lowest known plane, see ``_kernels.ecbp.SIGN``).

    ``mag``: zero-filled int32 memory of ``shape`` for the decoded magnitudes (default: a new array).
    A big image's state arrays are memory maps of their own, given back to the system when freed:
    heap memory that ``np.zeros`` took may stay with the process, and then it adds to the next
    step's front end in a step search (``B.SEARCH_RECOMPUTE_MIN_SAMPLES``; smaller images keep
    ``np.zeros``, whose reused heap pages save 2-4% of a 768x512 encode)."""
    big = int(np.prod(shape)) >= B.SEARCH_RECOMPUTE_MIN_SAMPLES
    zeros = zeroed_buffer if big else np.zeros
    if mag is None:
        mag = zeros(shape, np.int32)
    if coef is None:
        coef = mag  # never read by the decoder (one compiled signature for both directions)
    flags = zeros(shape, np.uint8)
    probs, counts = initial_models(models, priors)
    if stats is None:
        stats = np.zeros((0, 2), dtype=np.int64)
    regs = _ac.coder_registers(decoding, state)
    regs = _k.ecbp_code(decoding, coef, mag, flags, levels, n_max, state, buf, probs, counts, stats, regs,
                        on_plane=report_progress)
    _ac.save_registers(decoding, state, regs)
    return mag, flags


def encode_coefficients(q: np.ndarray, *, levels: int, n_max: int, budget: int | None,
                        stats: np.ndarray | None = None, models: int = 2,
                        estimate_error: bool = True, priors: np.ndarray | None = None) -> EncodeResult:
    """Code signed integer coefficients in tree layout (C, hp, wp) into at most ``budget`` bytes.

    ``stats`` (contexts x 2) counts the coded symbols per context (prior training);
    ``models``: the table of priors the context models start from (:data:`PRIOR_TABLES`; the
    codec's lossy streams use 2, its lossless ones 1; 0 starts every context at 1/2, an ablation);
    ``estimate_error=False`` skips ``reduction`` (the step search's error estimate);
    ``priors``: a candidate table instead of ``models``'s (:func:`initial_models`; studies only:
    no stream says which candidate it used).
    """
    if n_max < 0:
        return EncodeResult(b"")
    coef = np.ascontiguousarray(q, dtype=np.int32)

    def run(state, buf):
        return _run_kernel(False, coef, coef.shape, levels, n_max, state, buf, stats, models, priors=priors)

    payload, (mag, flags) = B.run_encoder(True, budget, max(1024, coef.size * (n_max + 2) // 4), run)
    offsets = _k.optimal_offsets(coef, mag, flags)
    recon = tuple(int(np.clip(np.rint(o * 256), 1, 255)) for o in offsets)
    reduction = 0.0
    if estimate_error:
        reduction = _k.distortion_reduction(coef, mag, flags, recon[0] / 256.0, recon[1] / 256.0)
    return EncodeResult(payload, recon, reduction)


def decode_coefficients(payload: bytes, *, shape: tuple[int, int, int], levels: int, n_max: int, frac_bits: int,
                        integer: bool, recon: tuple = (128, 128), weights: B.CoefficientWeights | None = None,
                        plane_weight: np.ndarray | None = None, models: int = 2,
                        priors: np.ndarray | None = None) -> np.ndarray:
    """Decode a (possibly truncated) payload into float64 coefficients (C, hp, wp), divided by
    ``weights`` and ``plane_weight`` (default: none); ``models`` and ``priors`` as the encoder had them."""
    if n_max < 0:
        return np.zeros(shape, dtype=np.float64)
    # one float64 buffer: the decoded magnitudes in its int32 first half (turned into codes in place),
    # the payload's copy in its second half, then the expanded values over both
    values, codes = B.coefficient_buffer(shape, integer=integer)
    data, state = B.start_decoder(payload, True, into=B.payload_area(values))
    mag, flags = _run_kernel(True, None, shape, levels, n_max, state, data, None, models, mag=codes, priors=priors)
    del data, state
    _k.final_codes(mag, flags, codes)
    del mag, flags
    return B.expand(values, codes, integer=integer, frac_bits=frac_bits, recon=recon, weights=weights,
                    plane_weight=plane_weight)


class EcbpCodec(B.BitplaneCodec):
    name = "ecbp"
    description = "embedded context-modelled bit-plane wavelet coder (EBCOT/ECECOW/RDE ingredients)"
    reference = ("D. Taubman, IEEE TIP 9(7), 2000; X. Wu, Asilomar 1997; J. Li, S. Lei, IEEE TIP 8(7), 1999"
                 " (combined here, see docs/ecbp.md)")
    capabilities = Capabilities(embedded=True, lossless=True, colour=True)
    options = B.common_options() + (
        Option("colour", "auto",
               "lossy colour images: 'subband-klt' (after the wavelet transform, one rotation per group of"
               " levels fitted to the image, 24 header bytes; docs/ecbp.md), 'ict' (the fixed YCbCr transform"
               " before it), or 'auto': the subband KLT for images of at least 480 pixels and payload budgets"
               " of at least 480 bytes (or none), where the 24 bytes are at most 5%, else the ICT;"
               " lossless colour always uses the RCT",
               ("auto",) + tuple(B.COLOUR_TRANSFORMS)),
    )
    colour_transforms = (B.COLOUR_ICT, B.COLOUR_SKLT)
    context_models = (1, 2)  # variant byte 1: the first table of priors; 2: the second (docs/format.md)
    search_recomputes = True  # the coder's 5.5 bytes of state do not fit beside float64 and int32 coefficients

    def lossy_colour_transform(self, options, budget, pixels) -> str:
        """``colour="auto"``: the subband KLT where its 24 bytes cost at most 1% of the payload.

        Without a budget the pixel count stands for the payload (full-quality streams take
        several bytes a pixel); bounding a budget by it too keeps a budget above the full
        stream's size choosing as no budget does."""
        colour = options.get("colour", "auto")
        if colour != "auto":
            return colour
        area = pixels.shape[0] * pixels.shape[1]
        expected = area if budget is None else min(budget, area)
        return "subband-klt" if expected >= _sklt.MIN_BUDGET else "ict"

    def context_models_for(self, lossless: bool) -> int:
        """Lossy streams start from the table trained on lossy streams only; lossless ones from the first
        (docs/ecbp.md, "Context models")."""
        return 1 if lossless else 2

    def read_plan(self, header) -> B.BitplanePlan:
        plan = super().read_plan(header)
        if plan.variant != "ac":
            raise CorruptStreamError("ecbp stream: variant byte must be 1 (arithmetic coding)")
        return plan

    def encode_coefficients(self, q: np.ndarray, plan: B.BitplanePlan, budget: int | None, *,
                            estimate_error: bool = True) -> EncodeResult:
        return encode_coefficients(q, levels=plan.levels, n_max=plan.n_max, budget=budget, models=plan.models,
                                   estimate_error=estimate_error)

    def decode_coefficients(self, payload: bytes, plan: B.BitplanePlan, shape: tuple[int, int, int], *,
                            integer: bool, weights: B.CoefficientWeights | None,
                            plane_weight: np.ndarray) -> np.ndarray:
        return decode_coefficients(payload, shape=shape, levels=plan.levels, n_max=plan.n_max,
                                   frac_bits=plan.frac_bits, integer=integer, recon=plan.recon, weights=weights,
                                   plane_weight=plane_weight, models=plan.models)


register(EcbpCodec())
