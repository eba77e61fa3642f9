"""How the kernels are compiled: three decorators, each for a measured reason.

* :data:`kernel`: a kernel called from Python (``njit(cache=True)``).
* :data:`helper`: a function called only from other kernels.  It needs neither the
  CPython wrapper nor the C-callable wrapper that Numba otherwise compiles for
  every function (measured: 0.15-0.25 s less compile time each, on the 2-core CI
  machine); it is cached like any kernel.  Such a function cannot be called from
  Python (Numba has no entry point for it, and a call crashes the interpreter):
  only what a kernel module documents as called from Python is, and this
  package's modules one level up are the API.
* :data:`array_helper`: a helper that only reads and writes arrays it is given
  (it allocates none and returns none): also compiled without Numba's reference
  counting (the ``_nrt=False`` compiler flag).  With it, a call with array
  arguments costs no atomic increments; without it, per-decision helpers took
  2-3x the coding time of the same code written inline (measured on SPIHT).
* :data:`python_array_kernel`: like :data:`array_helper` but called from Python
  (a coder's passes, driven plane by plane from Python: a compiled driver would
  link and optimise every pass once more).
"""

from __future__ import annotations

from numba import njit

kernel = njit(cache=True)
helper = njit(cache=True, no_cpython_wrapper=True, no_cfunc_wrapper=True)
array_helper = njit(cache=True, no_cpython_wrapper=True, no_cfunc_wrapper=True, _nrt=False)
python_array_kernel = njit(cache=True, _nrt=False)
