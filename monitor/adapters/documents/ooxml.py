"""Byte-stable OOXML zips (.docx, .xlsx): fixed member timestamps, the issue date as created/modified."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_CORE_TIMES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:(?:created|modified)>)")


def stable_zip(data: bytes, issued_on: dt.date) -> bytes:
    """Rewrite an OOXML zip with fixed member timestamps and the issue date as created/modified."""
    stamp = f"{issued_on.isoformat()}T00:00:00Z".encode()
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in sorted(source.namelist(), key=lambda n: (n != "[Content_Types].xml", n)):
            blob = source.read(name)
            if name == "docProps/core.xml":
                blob = _CORE_TIMES.sub(rb"\g<1>" + stamp + rb"\g<2>", blob)
            info = zipfile.ZipInfo(name, _FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, blob)
    return out.getvalue()
