"""Numba kernels of wavecodec (plain arrays in and out, no argument checking).

The public, validated API lives in the modules one level up (for instance
:mod:`wavecodec.transform` wraps :mod:`wavecodec._kernels.transform`).
"""
