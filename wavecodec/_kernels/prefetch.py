"""Software prefetch for the list-driven passes of the tree coders, in Numba.

Why: SPIHT's and EZW's passes walk lists whose entries point all over the
coefficient and significance maps.  Once an image's maps outgrow the caches
(beyond about 2048x2048), almost every entry costs cache misses, and the
out-of-order core cannot overlap them: each entry's coding decision waits on the
previous one (the arithmetic coder's registers form one long dependency chain).
Asking the memory system for the cache lines of the entry a few places ahead
(:func:`prefetch`, LLVM's ``llvm.prefetch``, an instruction that never faults
and changes no value) overlaps those misses with the coding of the entries in
between.  Measured (``benchmarks/bench_memory.py``-sized images, 1 bpp) in the
commit that introduced it; the coded bits are unchanged by construction.

:data:`LOOKAHEAD` entries ahead covers the memory latency with a few coding
decisions in between; more only evicts lines before they are used.
"""

from __future__ import annotations

from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

LOOKAHEAD = 12


@intrinsic
def prefetch(typingctx, array, c, i, j):
    """Hint that ``array[c, i, j]`` (a 3-d array) will be read soon.  No effect on any value;
    an index outside the array is harmless (a prefetch never faults) but useless."""
    if not isinstance(array, types.Array) or array.ndim != 3:
        return None

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        view = context.make_array(array_type)(context, builder, args[0])
        index = [context.cast(builder, value, kind, types.intp) for value, kind in zip(args[1:], signature.args[1:])]
        pointer = cgutils.get_item_pointer2(
            context, builder, view.data, cgutils.unpack_tuple(builder, view.shape),
            cgutils.unpack_tuple(builder, view.strides), array_type.layout, index,
            wraparound=False, boundscheck=False,
        )
        byte_pointer = ir.IntType(8).as_pointer()
        int32 = ir.IntType(32)
        function = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_pointer, int32, int32, int32]), "llvm.prefetch.p0i8"
        )
        # read (0), keep in all cache levels (3), data cache (1)
        builder.call(function, [builder.bitcast(pointer, byte_pointer), int32(0), int32(3), int32(1)])
        return context.get_dummy_value()

    return types.void(array, c, i, j), codegen
