"""Built-in codecs.  Importing this package registers them (one module per codec)."""

from . import spiht  # noqa: F401
from . import ezw  # noqa: F401
from . import imp1ezw  # noqa: F401
from . import vq_dct  # noqa: F401
from . import canny_spiht  # noqa: F401
from . import ecbp  # noqa: F401
from . import canny_ecbp  # noqa: F401
