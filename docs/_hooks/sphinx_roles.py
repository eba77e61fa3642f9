"""MkDocs hook: Sphinx roles of the docstrings (``:func:`wavecodec.codecs```) shown as plain code.

The docstrings are written for ``help()`` and for this site alike; mkdocstrings renders the
role prefix literally (``:func:wavecodec.codecs``), so it is removed from the page's HTML.
"""

from __future__ import annotations

import re

_ROLE = re.compile(r":(?:func|class|meth|mod|data|attr|exc|obj):(?=<code>)")


def on_page_content(html: str, **kwargs) -> str:
    return _ROLE.sub("", html)
