"""Image files in and out of the command line, without loss of bits or channels.

Which library reads and writes what (every sample kept; nothing is silently reduced):

=============================  ==========================================  ===========================
file                           read                                        written
=============================  ==========================================  ===========================
``.npy``                       NumPy                                       NumPy
TIFF, 8/16-bit gray or RGB     tifffile (a dependency of scikit-image)     tifffile
PNG, 16-bit colour             imagecodecs (``pip install                  imagecodecs
                               'wavecodec[standard]'``)
PNG 8-bit, PNG 16-bit gray,    Pillow                                      Pillow
PGM/PPM, BMP, ...
=============================  ==========================================  ===========================

Pillow reads 16-bit colour PNG, TIFF and PPM files as 8-bit RGB (it keeps only the
high byte): such files are read by tifffile / imagecodecs instead, or refused with an
error that says so, never truncated.  An alpha (transparency) channel cannot be coded
(the codecs take 1 or 3 channels): :func:`read_image` refuses it, naming the CLI's
``--drop-alpha``, unless ``drop_alpha=True``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import InvalidArgumentError, MissingDependencyError, WavecodecError

__all__ = ["read_image", "write_image", "is_stream"]

_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_TIFF_SUFFIXES = (".tif", ".tiff")
_PNG16_HINT = (
    "16-bit colour PNG files are read and written with imagecodecs: install it with"
    " pip install 'wavecodec[standard]' (or use TIFF, which the core dependencies read and write"
    " without loss)"
)


def is_stream(path: str | Path) -> bool:
    """True when the file starts with a wavecodec container's magic bytes."""
    from ._container import MAGIC

    with open(path, "rb") as f:
        return f.read(len(MAGIC)) == MAGIC


# ============================================================================ reading


def read_image(path: str | Path, *, drop_alpha: bool = False) -> np.ndarray:
    """Read an image file (or ``.npy`` array) as uint8/uint16 ``(H, W)`` or ``(H, W, 3)``.

    ``drop_alpha``: code only the gray/colour planes of an image with an alpha channel;
    without it such an image raises :class:`InvalidArgumentError`.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as exc:
        raise WavecodecError(f"cannot read image {path}: {exc}") from exc
    if path.suffix.lower() == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise WavecodecError(f"cannot read {path}: {exc}") from exc
        if array.ndim == 3 and array.shape[2] in (2, 4):
            array = _alpha(path, array[:, :, :-1], array[:, :, -1], drop_alpha)
        return array
    if head[:4] in _TIFF_MAGIC:
        image = _read_tiff(path, drop_alpha)
        if image is not None:
            return image
    return _read_pillow(path, drop_alpha, head.startswith(_PNG_MAGIC))


def _alpha(path: Path, colour: np.ndarray, alpha: np.ndarray, drop_alpha: bool) -> np.ndarray:
    """``colour`` when the alpha plane may be dropped, else the error that says how."""
    if drop_alpha:
        return np.ascontiguousarray(colour[:, :, 0] if colour.ndim == 3 and colour.shape[2] == 1 else colour)
    opaque = np.iinfo(alpha.dtype).max if np.issubdtype(alpha.dtype, np.integer) else 1
    transparent = int(np.count_nonzero(alpha != opaque))
    state = ("every pixel is opaque" if transparent == 0 else
             f"{transparent} of {alpha.size} pixels are (partly) transparent")
    planes = "gray" if colour.ndim == 2 or colour.shape[2] == 1 else "colour"
    raise InvalidArgumentError(
        f"{path}: the image has an alpha (transparency) channel ({state}); wavecodec's codecs code 1 or 3"
        f" channels, so it cannot be kept: pass --drop-alpha to code the {planes} planes without it"
    )


def _read_tiff(path: Path, drop_alpha: bool) -> np.ndarray | None:
    """A gray or RGB TIFF through tifffile (any bit depth Pillow would cut); ``None``: let Pillow read it."""
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            if len(tif.series) != 1 or len(tif.series[0].pages) != 1:
                raise WavecodecError(f"{path}: a TIFF with several images or pages; wavecodec codes one image")
            series = tif.series[0]
            page = series.pages[0]
            photometric = int(page.photometric)
            if photometric not in (0, 1, 2):  # MINISWHITE, MINISBLACK, RGB; palette, CMYK, YCbCr...: Pillow
                return None
            array = series.asarray()
            axes = series.axes
            bits = int(page.bitspersample)
            extra = len(page.extrasamples)
    except WavecodecError:
        raise
    except Exception as exc:  # noqa: BLE001 - tifffile raises many types for unreadable files
        if "imagecodecs" in str(exc):
            raise MissingDependencyError(
                f"cannot read {path}: {exc}; install it with pip install 'wavecodec[standard]'"
            ) from None
        raise WavecodecError(f"cannot read image {path}: {exc}") from exc
    if axes == "SYX":  # planar configuration: one plane after the other
        array = np.moveaxis(array, 0, -1)
    elif axes not in ("YX", "YXS"):
        raise WavecodecError(f"{path}: TIFF axes {axes!r} are not a single 2-D gray or colour image")
    if array.dtype == bool:  # bilevel: 0/255 as Pillow's mode "1"
        array = array.astype(np.uint8) * 255
        bits = 8
    if array.dtype not in (np.uint8, np.uint16):
        raise WavecodecError(f"{path}: {array.dtype} TIFF samples are not supported (uint8 or uint16 only)")
    if photometric == 0:  # MINISWHITE: 0 is white
        array = ((1 << bits) - 1 - array.astype(np.int64)).astype(array.dtype)
    if array.ndim == 3:
        colour_planes = 3 if photometric == 2 else 1
        if array.shape[2] > colour_planes and (extra or array.shape[2] in (2, 4)):
            return _alpha(path, array[:, :, :colour_planes], array[:, :, colour_planes], drop_alpha)
        if array.shape[2] != colour_planes:
            raise WavecodecError(f"{path}: {array.shape[2]} samples per pixel are not supported (1 or 3)")
        if colour_planes == 1:
            array = array[:, :, 0]
    return np.ascontiguousarray(array)


def _pillow_truncates(im) -> bool:
    """True when Pillow would keep only the high byte of 16-bit samples (colour, or gray with alpha)."""
    if im.mode.startswith("I"):
        return False
    for tile in im.tile:
        args = tile[3] if len(tile) > 3 else None
        rawmode = args if isinstance(args, str) else args[0] if isinstance(args, tuple) and args else None
        if isinstance(rawmode, str) and ";16" in rawmode:
            return True
        if tile[0] == "ppm" and isinstance(args, tuple) and len(args) > 1 and isinstance(args[1], int) and args[1] > 255:
            return True
    return False


def _read_png16(path: Path, drop_alpha: bool) -> np.ndarray:
    try:
        import imagecodecs
    except ImportError:
        raise MissingDependencyError(f"cannot read {path}: {_PNG16_HINT}") from None
    try:
        array = np.asarray(imagecodecs.png_decode(path.read_bytes()))
    except Exception as exc:  # noqa: BLE001 - imagecodecs raises its own error types
        raise WavecodecError(f"cannot read image {path}: {exc}") from exc
    if array.ndim == 3 and array.shape[2] in (2, 4):
        return _alpha(path, array[:, :, :-1], array[:, :, -1], drop_alpha)
    return np.ascontiguousarray(array)


def _read_pillow(path: Path, drop_alpha: bool, png: bool) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as im:
            if _pillow_truncates(im):
                if png:
                    return _read_png16(path, drop_alpha)
                raise WavecodecError(
                    f"{path}: {im.format} file with 16-bit colour samples, which Pillow reads as 8-bit; convert it"
                    " to TIFF or PNG (or save it as .npy) to code it without loss"
                )
            im.load()
            mode = im.mode
            if mode.startswith("I"):
                a = np.asarray(im)
                if a.size and (a.min() < 0 or a.max() > 65535):
                    raise WavecodecError(f"{path}: 32-bit samples outside 0..65535 are not supported")
                a = a.astype(np.uint16)
                if "transparency" in im.info:  # one gray level marked transparent (tRNS)
                    alpha = np.where(a == im.info["transparency"], 0, 65535).astype(np.uint16)
                    return _alpha(path, a, alpha, drop_alpha)
                return a
            if mode == "F":
                raise WavecodecError(f"{path}: floating-point samples are not supported (uint8 or uint16 only)")
            if mode == "P":
                mode = "PA" if "transparency" in im.info else "RGB"
                im = im.convert("RGBA" if mode == "PA" else "RGB")
                mode = im.mode
            elif mode in ("L", "RGB") and "transparency" in im.info:  # one colour marked transparent (tRNS)
                im = im.convert("LA" if mode == "L" else "RGBA")
                mode = im.mode
            if mode in ("LA", "La", "RGBA", "RGBa", "PA"):
                im = im.convert("LA" if mode in ("LA", "La") else "RGBA")
                a = np.asarray(im)
                return _alpha(path, a[:, :, :-1], a[:, :, -1], drop_alpha)
            if mode == "1":
                return np.asarray(im.convert("L"))
            if mode == "L":
                return np.asarray(im)
            return np.asarray(im.convert("RGB"))  # RGB; CMYK, YCbCr, LAB, HSV converted to RGB
    except WavecodecError:
        raise
    except (OSError, ValueError) as exc:
        raise WavecodecError(f"cannot read image {path}: {exc}") from exc


# ============================================================================ writing


def write_image(path: str | Path, image: np.ndarray) -> None:
    """Write a decoded image; the format follows the extension (``.npy``, ``.tif``, ``.png``, ...).

    Every format writes uint8 gray and colour; uint16 gray goes to PNG, TIFF and PGM;
    uint16 colour to TIFF (tifffile) and PNG (imagecodecs), or ``.npy``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    a = image[:, :, 0] if image.ndim == 3 and image.shape[2] == 1 else image
    a = np.ascontiguousarray(a)
    try:
        if suffix == ".npy":
            np.save(path, image)
            return
        if suffix in _TIFF_SUFFIXES:
            import tifffile

            tifffile.imwrite(path, a, photometric="rgb" if a.ndim == 3 else "minisblack")
            return
        if a.dtype == np.uint16 and a.ndim == 3:
            if suffix != ".png":
                raise WavecodecError(
                    f"cannot write {path}: 16-bit colour images are written as .png, .tif or .npy only"
                )
            try:
                import imagecodecs
            except ImportError:
                raise MissingDependencyError(f"cannot write {path}: {_PNG16_HINT}") from None
            path.write_bytes(imagecodecs.png_encode(a))
            return
        from PIL import Image

        if a.dtype == np.uint16:
            # native little-endian uint16 maps to mode "I;16" (passing mode= is refused by Pillow >= 11)
            a = np.ascontiguousarray(a, dtype="<u2")
        Image.fromarray(a).save(path)
    except WavecodecError:
        raise
    except (OSError, ValueError, KeyError) as exc:
        raise WavecodecError(f"cannot write image {path}: {exc}") from exc
