"""``python -m wavecodec.bench DATASET --codecs ... --rates ...`` (same as ``wavecodec bench``)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
