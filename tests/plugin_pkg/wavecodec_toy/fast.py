"""A plug-in codec whose optional accelerator is not installed: importing it fails."""

import wavecodec_toy_accelerator_not_installed  # noqa: F401  (ImportError on purpose)
