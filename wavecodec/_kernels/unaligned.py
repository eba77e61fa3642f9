"""Unaligned little-endian 8-byte loads and stores in a byte array, in Numba (LLVM loads and
stores with alignment 1).

Why: SPIHT's LSP is a byte stream of variable-size entries (:func:`.spiht._append_lsp`).
Assembling an entry from five single-byte loads took about 1.6 ns an entry (a loop over
400,000 entries, this project's 2-core machine); one unaligned load is one instruction on
the processors Numba targets, which handle unaligned accesses in hardware.  On a big-endian
machine the words are byte-swapped, so the layout in memory is the same everywhere.
The array must have 8 bytes of room past the last position used (the caller sizes it).
"""

from __future__ import annotations

import sys

from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

_SWAP = sys.byteorder != "little"


def _word_pointer(context, builder, array_type, array, pos, pos_type):
    view = context.make_array(array_type)(context, builder, array)
    byte = builder.gep(view.data, [context.cast(builder, pos, pos_type, types.intp)])
    return builder.bitcast(byte, ir.IntType(64).as_pointer())


def _is_bytes(array) -> bool:
    return isinstance(array, types.Array) and array.ndim == 1 and array.dtype == types.uint8


@intrinsic
def load_le64(typingctx, array, pos):
    """The 8 bytes ``array[pos:pos + 8]`` (a 1-d uint8 array) as one little-endian int64.  No bounds check."""
    if not _is_bytes(array):
        return None

    def codegen(context, builder, signature, args):
        word = builder.load(_word_pointer(context, builder, signature.args[0], args[0], args[1], signature.args[1]),
                            align=1)
        return builder.bswap(word) if _SWAP else word

    return types.int64(array, pos), codegen


@intrinsic
def store_le64(typingctx, array, pos, value):
    """Write ``value`` as a little-endian int64 to ``array[pos:pos + 8]`` (a 1-d uint8 array).  No bounds check."""
    if not _is_bytes(array):
        return None

    def codegen(context, builder, signature, args):
        word = context.cast(builder, args[2], signature.args[2], types.int64)
        builder.store(builder.bswap(word) if _SWAP else word,
                      _word_pointer(context, builder, signature.args[0], args[0], args[1], signature.args[1]), align=1)
        return context.get_dummy_value()

    return types.void(array, pos, value), codegen
