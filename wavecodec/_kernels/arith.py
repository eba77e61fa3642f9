"""Adaptive binary arithmetic coder (range coder) and raw bit I/O, as Numba kernels.

The coder is a carry-propagating range coder of the kind used by LZMA
(G. N. N. Martin, "Range encoding", 1979; carry handling with a cached byte
and a count of pending 0xFF bytes), driving adaptive binary models:

* each context holds a 15-bit probability that the next bit is 0 and a count;
* after coding, the probability moves towards the coded bit by ``1/2**shift``,
  where ``shift`` grows with the count (fast learning first, then stable
  estimates): see ``ADAPT_SHIFT``.

The coder state lives in a small int64 array so that codec kernels can pass it
around without Python objects.  All arithmetic is integer: the same symbols give
the same bytes on every machine.

Truncation.  The decoder keeps a 32-bit window ``code`` of the encoded value.
A decision depends only on that integer window, never on the bytes after it, so
it is exact as long as every byte already pulled into the window is a real byte
of the stream.  Bytes past the end read as 0 but are counted; as soon as one has
been consumed, :func:`ac_decode_bit` reports exhaustion instead of a bit.  Any
prefix of a stream therefore decodes to exactly the leading symbols whose bytes
it contains (all but the last three or four bytes' worth), and nothing false.

The state layout (index -> meaning) is private to this module; codec kernels
only call the functions below (and read the ``STATE_*`` slots they name).

The codec kernels inline these functions; Numba's on-disk cache does not notice
an edit here in the kernels that inline them, so :mod:`wavecodec._kernels` drops
its cached kernels whenever any of its source files changes.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from .jit import array_helper, helper
from .pages import release_before

PROB_BITS = 15
PROB_ONE = 1 << PROB_BITS
PROB_HALF = PROB_ONE >> 1
PROB_MIN = 31
TOP = 1 << 24
MASK32 = 0xFFFFFFFF

# Each context mixes two probability estimates that adapt at different speeds
# (the average of a fast and a slow exponential estimator tracks both local
# changes and stable statistics; cf. the two-rate counters of modern entropy
# coders).  During the first symbols of a context both adapt faster, roughly as
# a Krichevsky-Trofimov estimate would.
FAST_SHIFT = 4
SLOW_SHIFT = 7
ADAPT_SHIFT = np.array(
    [1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4] + [5] * 32 + [6] * 80 + [7],
    dtype=np.int64,
)
ADAPT_LAST = ADAPT_SHIFT.shape[0] - 1

# State slots.
_LOW = STATE_LOW = 0  # encoder: low (up to 33 bits)      decoder: code window
_RANGE = STATE_RANGE = 1
_CACHE = 2  # encoder only
_CACHE_SIZE = 3  # encoder only: pending bytes (cache + 0xFF run)
_POS = STATE_POS = 4  # bytes written (encoder) / bytes consumed (decoder), or bits for raw I/O
_LIMIT = STATE_LIMIT = 5  # decoder: bytes available; encoder: soft budget in bytes (or bits for raw)
_DONE = STATE_DONE = 6  # 1 once the budget is reached (encoder) or the input exhausted (decoder)
_FIRST = 7  # encoder: 1 until the always-zero leading byte has been dropped
STATE_SIZE = 8


def new_models(n_contexts: int) -> tuple[np.ndarray, np.ndarray]:
    """Return fresh (probabilities, counts) arrays for ``n_contexts`` binary contexts.

    ``probs[ctx] = (fast, slow)`` estimates of P(bit = 0) in units of 2**-15.
    """
    return (np.full((n_contexts, 2), PROB_HALF, dtype=np.int32), np.zeros(n_contexts, dtype=np.int32))


def models_from_priors(p0: np.ndarray, confidence: int) -> tuple[np.ndarray, np.ndarray]:
    """Models whose estimates start at the prior ``p0`` (P(bit = 0) in 2**-15 units).

    ``confidence`` is the number of symbols the prior is worth: adaptation starts
    at the speed it would have after that many symbols.
    """
    p0 = np.clip(np.asarray(p0, dtype=np.int32), PROB_MIN, PROB_ONE - PROB_MIN)
    probs = np.repeat(p0[:, None], 2, axis=1).astype(np.int32)
    counts = np.full(p0.shape[0], min(int(confidence), ADAPT_LAST), dtype=np.int32)
    return probs, counts


@njit(cache=True)
def ac_encoder_init(state, limit_bytes):
    """Reset ``state`` for encoding; encoding reports done once ``limit_bytes`` is passed."""
    state[_LOW] = 0
    state[_RANGE] = MASK32
    state[_CACHE] = 0
    state[_CACHE_SIZE] = 1
    state[_POS] = 0
    state[_LIMIT] = limit_bytes
    state[_DONE] = 0
    state[_FIRST] = 1


@njit(cache=True, inline="always")
def _shift_low(state, out):
    low = state[_LOW]
    if low < 0xFF000000 or low > MASK32:
        carry = low >> 32
        temp = state[_CACHE]
        while True:
            if state[_FIRST] == 1:
                state[_FIRST] = 0  # the very first byte is always 0: not stored
            else:
                pos = state[_POS]
                if pos < out.shape[0]:
                    out[pos] = (temp + carry) & 0xFF
                state[_POS] = pos + 1
            temp = 0xFF
            state[_CACHE_SIZE] -= 1
            if state[_CACHE_SIZE] == 0:
                break
        state[_CACHE] = (low >> 24) & 0xFF
    state[_CACHE_SIZE] += 1
    state[_LOW] = (low & 0x00FFFFFF) << 8


@helper
def _move(p, bit, shift):
    if bit == 0:
        p += (PROB_ONE - p) >> shift
        if p > PROB_ONE - PROB_MIN:
            p = PROB_ONE - PROB_MIN
    else:
        p -= p >> shift
        if p < PROB_MIN:
            p = PROB_MIN
    return p


@njit(cache=True, inline="always")
def _encode_in_context(low, rng, state, out, probs, counts, ctx, bit):
    """:func:`ac_encode_step` with the model of context ``ctx``, then renormalisation
    (:func:`ac_encoder_shift`, about once per output byte); the new ``(low, range)``."""
    low, rng, p_fast, p_slow, count = ac_encode_step(low, rng, probs[ctx, 0], probs[ctx, 1], counts[ctx], bit)
    probs[ctx, 0] = p_fast
    probs[ctx, 1] = p_slow
    counts[ctx] = count
    while rng < TOP:
        rng = (rng << 8) & MASK32
        low = ac_encoder_shift(state, out, low)
    return low, rng


@njit(cache=True, inline="always")
def ac_encode_bit(state, out, probs, counts, ctx, bit):
    """Code ``bit`` (0/1) in context ``ctx``; sets done once the byte budget is passed.

    :func:`ac_encode_step` on the registers kept in ``state``, then renormalisation.
    """
    low, rng = _encode_in_context(state[_LOW], state[_RANGE], state, out, probs, counts, ctx, bit)
    state[_LOW] = low
    state[_RANGE] = rng
    if state[_POS] + state[_CACHE_SIZE] > state[_LIMIT]:
        state[_DONE] = 1


@helper
def ac_encode_step(low, rng, p_fast, p_slow, count, bit):
    """:func:`ac_encode_bit` on scalars, without renormalisation: the encoder registers
    and one context's model in, the new registers and model out.

    The caller renormalises with :func:`ac_encoder_shift` while the range is below
    ``TOP`` (about once per output byte), so the per-bit work touches no array
    (see :func:`ac_decode_step` for why that matters inside Numba kernels).
    """
    bound = (rng >> PROB_BITS) * ((p_fast + p_slow) >> 1)
    if bit == 0:
        rng = bound
    else:
        low += bound
        rng -= bound
    warm = ADAPT_SHIFT[count]
    p_fast = _move(p_fast, bit, warm if warm < FAST_SHIFT else FAST_SHIFT)
    p_slow = _move(p_slow, bit, warm)
    if count < ADAPT_LAST:
        count += 1
    return low, rng, p_fast, p_slow, count


@helper
def ac_encoder_shift(state, out, low):
    """Renormalise once (range already shifted by the caller): emit a byte; returns the new ``low``.

    Sets done once the byte budget is passed.
    """
    state[_LOW] = low
    _shift_low(state, out)
    if state[_POS] + state[_CACHE_SIZE] > state[_LIMIT]:
        state[_DONE] = 1
    return state[_LOW]


@njit(cache=True)
def ac_encoder_flush(state, out):
    """Terminate the stream; return the number of bytes written."""
    for _ in range(5):
        _shift_low(state, out)
    return state[_POS]


@njit(cache=True)
def ac_decoder_init(state, data, n_bytes):
    """Start decoding the first ``n_bytes`` bytes of ``data``."""
    state[_RANGE] = MASK32
    state[_LIMIT] = n_bytes
    state[_POS] = 0
    state[_DONE] = 0
    code = 0
    for _ in range(4):
        code = (code << 8) | _next_byte(state, data)
    state[_LOW] = code
    if state[_POS] > state[_LIMIT]:
        state[_DONE] = 1


@njit(cache=True, inline="always")
def _next_byte(state, data):
    pos = state[_POS]
    state[_POS] = pos + 1
    if pos < state[_LIMIT]:
        return np.int64(data[pos])
    return np.int64(0)


@njit(cache=True, inline="always")
def ac_decode_bit(state, data, probs, counts, ctx):
    """Decode one bit in context ``ctx``; returns -1 (and sets done) when the input is exhausted.

    :func:`ac_decode_step` on the registers kept in ``state``.
    """
    pos = state[_POS]
    limit = state[_LIMIT]
    byte0 = np.int64(data[pos]) if pos < limit else np.int64(0)  # past the end: zeros
    byte1 = np.int64(data[pos + 1]) if pos + 1 < limit else np.int64(0)
    bit, rng, code, pos, done, p_fast, p_slow, count = ac_decode_step(
        state[_RANGE], state[_LOW], pos, limit, state[_DONE], probs[ctx, 0], probs[ctx, 1], counts[ctx], byte0, byte1
    )
    if bit >= 0:
        probs[ctx, 0] = p_fast
        probs[ctx, 1] = p_slow
        counts[ctx] = count
    state[_RANGE] = rng
    state[_LOW] = code
    state[_POS] = pos
    state[_DONE] = done
    return bit


@helper
def ac_decode_step(rng, code, pos, limit, done, p_fast, p_slow, count, byte0, byte1):
    """:func:`ac_decode_bit` on scalars: the decoder registers, one context's model and
    the next two input bytes (0 past the end) in; the bit (-1 when exhausted), the new
    registers and the new model out.

    For kernels that keep the decoder state in local variables: a helper that takes
    arrays, inlined at every decision, makes Numba count references to each array on
    every bit (atomic operations that cost a third of the decoding time).  After a
    decision the range is at least (2**24 >> 15) * PROB_MIN > 2**13, so two input
    bytes always suffice to renormalise.
    """
    bit = -1
    if done == 0:
        bound = (rng >> PROB_BITS) * ((p_fast + p_slow) >> 1)
        if code < bound:
            rng = bound
            bit = 0
        else:
            code -= bound
            rng -= bound
            bit = 1
        warm = ADAPT_SHIFT[count]
        p_fast = _move(p_fast, bit, warm if warm < FAST_SHIFT else FAST_SHIFT)
        p_slow = _move(p_slow, bit, warm)
        if count < ADAPT_LAST:
            count += 1
        if rng < TOP:
            rng = (rng << 8) & MASK32
            code = ((code << 8) | byte0) & MASK32
            pos += 1
            if rng < TOP:
                rng = (rng << 8) & MASK32
                code = ((code << 8) | byte1) & MASK32
                pos += 1
            if pos > limit:
                done = 1  # the next decision would rest on bytes that are not there
    return bit, rng, code, pos, done, p_fast, p_slow, count


# --------------------------------------------------------------------------- raw bits


@njit(cache=True)
def raw_init(state, limit_bits):
    """Reset ``state`` for raw (uncoded) bit I/O of at most ``limit_bits`` bits."""
    state[_POS] = 0
    state[_LIMIT] = limit_bits
    state[_DONE] = 1 if limit_bits <= 0 else 0


@njit(cache=True, inline="always")
def raw_write_bit(state, out, bit):
    """Append one bit MSB-first; never writes past the bit budget."""
    pos = state[_POS]
    if pos >= state[_LIMIT]:
        state[_DONE] = 1
        return
    if bit != 0 and (pos >> 3) < out.shape[0]:  # past the buffer: counted, not written
        out[pos >> 3] |= np.uint8(0x80 >> (pos & 7))
    state[_POS] = pos + 1
    if pos + 1 >= state[_LIMIT]:
        state[_DONE] = 1


@njit(cache=True, inline="always")
def raw_read_bit(state, data):
    """Read one bit MSB-first; -1 (and done) when the input is exhausted."""
    pos = state[_POS]
    if pos >= state[_LIMIT]:
        state[_DONE] = 1
        return -1
    state[_POS] = pos + 1
    return (np.int64(data[pos >> 3]) >> (7 - (pos & 7))) & 1


@njit(cache=True)
def is_done(state):
    return state[_DONE] != 0


@njit(cache=True)
def position(state):
    """Bytes (arithmetic coder) or bits (raw I/O) produced or consumed so far."""
    return state[_POS]


# --------------------------------------------------------------------------- one binary decision

BitCoder = namedtuple("BitCoder", ["state", "buf", "probs", "counts", "stats"])
BitCoder.__doc__ = """The entropy coder as the codec kernels pass it between their passes: the
coder state array, the byte buffer (output when encoding, input when decoding),
the context models (``probs``, ``counts``) and ``stats`` (contexts x 2 symbol
counts kept by the encoder, or an empty array).  A pass unpacks it into locals
before its loop and hands the arrays to :func:`code_decision`."""


@njit(cache=True)
def coder_registers(decoding, state):
    """The coder's registers as a tuple of five integers, to keep in a kernel's locals.

    Encoder: ``(low, range, 0, 0, 0)``; decoder: ``(range, code, pos, limit, done)``.
    Raw bit I/O keeps its position in ``state`` and ignores them.
    """
    if decoding:
        return (state[_RANGE], state[_LOW], state[_POS], state[_LIMIT], state[_DONE])
    return (state[_LOW], state[_RANGE], np.int64(0), np.int64(0), np.int64(0))


@njit(cache=True)
def save_registers(decoding, state, regs):
    """Write the registers back into ``state`` (the encoder's flush and the caller read them there)."""
    if decoding:
        state[_RANGE] = regs[0]
        state[_LOW] = regs[1]
        state[_POS] = regs[2]
        state[_DONE] = regs[4]
    else:
        state[_LOW] = regs[0]
        state[_RANGE] = regs[1]


def passes_done(on_pass, decoding, arith, state, regs, fraction, buf=None):
    """Call ``on_pass(fraction)`` between two passes of a coder's plane loop (nothing if it is
    None), the decoder's registers saved to ``state`` first, where a caller reads the
    coder's position (the encoder keeps its position there anyway).  ``buf``: the decoder's
    input, whose memory pages behind the bytes read it gives back when it is a
    :func:`.pages.list_buffer` (the decoder reads forward only; a lossless decode's payload
    copy is then resident only for the passes still to come)."""
    if decoding and buf is not None:
        read = regs[2] if arith is not None else state[_POS] // 8  # bytes (raw I/O counts bits)
        release_before(buf, read - 8)
    if on_pass is None:
        return
    if decoding and arith is not None:
        save_registers(decoding, state, regs)
    on_pass(fraction)


@njit(cache=True, inline="always")
def code_decision(decoding, arith, regs, state, buf, probs, counts, stats, ctx, bit):
    """Encode ``bit``, or decode a bit, in context ``ctx``; returns ``(bit, regs)``.

    The one place where a codec kernel meets the entropy coder.  ``arith`` is
    ``None`` (raw bits, the papers' uncoded variants: the context is ignored) or
    ``True`` (adaptive arithmetic coding); Numba compiles each separately (and
    prunes the coder from the ``None`` one).  The decoder returns -1 once the input is exhausted;
    the encoder sets ``state[STATE_DONE]`` once its budget is spent.

    Inlined in Numba's IR at every call site, with the encoder's side written out
    (the per-bit work runs on the registers in ``regs``, scalars, see
    :func:`ac_encode_step`; arrays are touched only to read and update the
    context's model and, about once per byte, to emit one).  The decoder's side
    is a call, compiled once, without reference counting, which LLVM inlines.
    As calls, both sides would cost 10-30 % of the coding time (argument passing,
    measured); inlined both, 15-20 % more compile time.
    """
    if decoding:
        return decode_decision(arith, regs, state, buf, probs, counts, ctx)
    if stats.shape[0] > 0:
        stats[ctx, bit] += 1
    if arith is None:
        raw_write_bit(state, buf, bit)
        return bit, regs
    low, rng = _encode_in_context(regs[0], regs[1], state, buf, probs, counts, ctx, bit)
    return bit, (low, rng, regs[2], regs[3], regs[4])


@array_helper
def decode_decision(arith, regs, state, buf, probs, counts, ctx):
    """Decoder side of :func:`code_decision`: the bit (-1 once the input is exhausted) and the registers."""
    if arith is None:
        return raw_read_bit(state, buf), regs
    rng, code, pos, limit, done = regs
    byte0 = np.int64(buf[pos]) if pos < limit else np.int64(0)
    byte1 = np.int64(buf[pos + 1]) if pos + 1 < limit else np.int64(0)
    bit, rng, code, pos, done, p_fast, p_slow, count = ac_decode_step(
        rng, code, pos, limit, done, probs[ctx, 0], probs[ctx, 1], counts[ctx], byte0, byte1
    )
    probs[ctx, 0] = p_fast
    probs[ctx, 1] = p_slow
    counts[ctx] = count
    return bit, (rng, code, pos, limit, done)


# --------------------------------------------------------------------------- test helpers


@njit(cache=True)
def encode_bits(bits, ctxs, n_contexts, capacity):
    """Code a whole bit sequence (for tests and benchmarks); returns the bytes."""
    state = np.zeros(STATE_SIZE, dtype=np.int64)
    out = np.zeros(capacity, dtype=np.uint8)
    probs = np.full((n_contexts, 2), PROB_HALF, dtype=np.int32)
    counts = np.zeros(n_contexts, dtype=np.int32)
    ac_encoder_init(state, capacity + 16)
    for k in range(bits.shape[0]):
        ac_encode_bit(state, out, probs, counts, ctxs[k], bits[k])
    n = ac_encoder_flush(state, out)
    return out[: min(n, capacity)].copy(), n


@njit(cache=True)
def decode_bits(data, n_bytes, ctxs, n_contexts):
    """Decode up to ``len(ctxs)`` bits from the first ``n_bytes`` of ``data``; stops when exhausted."""
    state = np.zeros(STATE_SIZE, dtype=np.int64)
    probs = np.full((n_contexts, 2), PROB_HALF, dtype=np.int32)
    counts = np.zeros(n_contexts, dtype=np.int32)
    out = np.zeros(ctxs.shape[0], dtype=np.int64)
    ac_decoder_init(state, data, n_bytes)
    k = 0
    while k < ctxs.shape[0]:
        b = ac_decode_bit(state, data, probs, counts, ctxs[k])
        if b < 0:
            break
        out[k] = b
        k += 1
    return out[:k].copy()
