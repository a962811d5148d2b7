"""cffi declarations read from the C headers of ``cmodel/`` (used by the cffi build scripts).

The declarations of a C interface are written once, in its header. The C compiler checks the
implementation against the header, and cffi's API mode compiles the extension against the same
header, so Python, C and the declarations cannot drift apart.
"""
from __future__ import annotations

import re
from pathlib import Path


def header_cdef(path: Path) -> str:
    """The cffi declarations of a C header of ``cmodel/``, read from the header itself.

    Comments, include guards, ``#include`` and ``extern "C"`` lines are dropped; every
    ``#define NAME value`` becomes ``#define NAME ...`` (cffi takes the value from the compiled
    header). The declarations are written once, in the header: the C compiler checks the
    implementation against them and cffi's API mode checks this module against them.
    """
    text = path.read_text()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    out, depth = [], 0
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            m = re.match(r"#\s*define\s+([A-Za-z_]\w*)\s+\S", line)
            if m and not m.group(1).endswith("_H"):
                out.append(f"#define {m.group(1)} ...")
            elif not re.match(r"#\s*(ifndef|ifdef|if|endif|else|define|include)\b", line):
                raise ValueError(f"{path}: preprocessor line cffi cannot take: {line!r}")
            continue
        if line in ('extern "C" {', "}") and depth == 0:
            continue                      # the C++ linkage block (under #ifdef __cplusplus)
        depth += line.count("{") - line.count("}")
        out.append(raw)
    return "\n".join(out) + "\n"
