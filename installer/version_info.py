"""The Windows version resource (file properties > Details) of the executables, as spec text."""

from __future__ import annotations

import re

COMPANY = "Sorter"
PRODUCT = "Sorter"


def version_tuple(version: str) -> tuple[int, int, int, int]:
    """The release numbers, padded to four: "0.1.0" -> (0, 1, 0, 0), "0.2.0rc1" -> (0, 2, 0, 0).

    Windows version resources and Inno Setup's VersionInfoVersion take four numbers of 0-65535
    only; a pre-release, post-release or local tail (rc1, .dev3, .post1, +cu130) is dropped.
    """
    match = re.match(r"\s*v?(\d+(?:\.\d+)*)", version)
    if not match:
        raise ValueError(f"not a version: {version!r}")
    numbers = [int(n) for n in match.group(1).split(".")][:4]
    if any(n > 0xFFFF for n in numbers):
        raise ValueError(f"a Windows version number is at most 65535: {version!r}")
    return tuple(numbers + [0] * (4 - len(numbers)))  # type: ignore[return-value]


def numeric_version(version: str) -> str:
    """ "0.2.0rc1" -> "0.2.0.0": what VersionInfoVersion and FileVersion accept."""
    return ".".join(str(n) for n in version_tuple(version))


def version_info_text(version: str, file_name: str, description: str) -> str:
    """The text PyInstaller's `version=` file holds: a VSVersionInfo(...) expression."""
    numbers = version_tuple(version)
    dotted = numeric_version(version)
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


if __name__ == "__main__":
    # The workflow: `python installer/version_info.py 0.2.0rc1` prints 0.2.0.0 for ISCC.
    import sys

    print(numeric_version(sys.argv[1]))
