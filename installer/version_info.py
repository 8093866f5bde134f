"""The Windows version resource (file properties > Details) of the executables, as spec text."""

from __future__ import annotations

import re

COMPANY = "Sorter"
PRODUCT = "Sorter"


def version_tuple(version: str) -> tuple[int, int, int, int]:
    """ "0.1.0" -> (0, 1, 0, 0); pre-release tails such as "rc1" are dropped."""
    numbers = [int(n) for n in re.findall(r"\d+", version.split("+")[0])[:4]]
    if not numbers:
        raise ValueError(f"not a version: {version!r}")
    return tuple(numbers + [0] * (4 - len(numbers)))  # type: ignore[return-value]


def version_info_text(version: str, file_name: str, description: str) -> str:
    """The text PyInstaller's `version=` file holds: a VSVersionInfo(...) expression."""
    numbers = version_tuple(version)
    dotted = ".".join(str(n) for n in numbers)
    strings = {
        "CompanyName": COMPANY,
        "FileDescription": description,
        "FileVersion": dotted,
        "InternalName": file_name.rsplit(".", 1)[0],
        "LegalCopyright": "MIT licence",
        "OriginalFilename": file_name,
        "ProductName": PRODUCT,
        "ProductVersion": version,
    }
    string_structs = ",\n          ".join(f"StringStruct({k!r}, {v!r})" for k, v in strings.items())
    return f"""VSVersionInfo(
  ffi=FixedFileInfo(
    filevers={numbers},
    prodvers={numbers},
    mask=0x3f,
    flags=0x0,
    OS=0x40004,
    fileType=0x1,
    subtype=0x0,
    date=(0, 0)
  ),
  kids=[
    StringFileInfo([
      StringTable('040904B0', [
          {string_structs}
      ])
    ]),
    VarFileInfo([VarStruct('Translation', [1033, 1200])])
  ]
)
"""
