"""The Explorer verbs of installer/sorter.iss, read as Windows runs them (no Windows needed)."""

from __future__ import annotations

import re
from pathlib import Path, PureWindowsPath

import pytest

from sorter.core.files import clean_path_arg

ISS = Path(__file__).resolve().parent.parent / "installer" / "sorter.iss"
VERB_KEYS = ("Directory\\shell", "Directory\\Background\\shell", "Drive\\shell")
FOLDERS = ["D:\\", "C:\\Users\\Ana\\My Photos", "\\\\server\\share\\", "E:\\DCIM\\100CANON"]


def windows_argv(command_line: str) -> list[str]:
    """Split a command line by the C runtime's rules (as CommandLineToArgvW and Python do).

    2n backslashes before a quote give n backslashes and the quote opens or closes a quoted part;
    2n+1 give n backslashes and a literal quote; backslashes before anything else are literal.
    """
    args, current, quoted, i, started = [], [], False, 0, False
    while i < len(command_line):
        ch = command_line[i]
        if ch == "\\":
            n = len(command_line[i:]) - len(command_line[i:].lstrip("\\"))
            i += n
            if i < len(command_line) and command_line[i] == '"':
                current.append("\\" * (n // 2))
                if n % 2:
                    current.append('"')
                    i += 1
            else:
                current.append("\\" * n)
            started = True
            continue
        if ch == '"':
            quoted, started = not quoted, True
        elif ch in " \t" and not quoted:
            if started:
                args.append("".join(current))
            current, started = [], False
        else:
            current.append(ch)
            started = True
        i += 1
    if started:
        args.append("".join(current))
    return args


def _subkey(key: str, sub: str = "") -> str:
    """A regex for the Subkey field of one verb's registry lines."""
    return rf'Subkey: "Software\\Classes\\{re.escape(key)}\\{{#VerbKey}}{re.escape(sub)}"'


def verb_commands() -> dict[str, str]:
    """Verb key -> the command line it registers, with ISCC's doubled quotes undone."""
    text = ISS.read_text(encoding="utf-8")
    found = {}
    for key in VERB_KEYS:
        match = re.search(_subkey(key, "\\command") + r'.*?ValueData: "((?:[^"]|"")*)"', text)
        assert match, f"no command for {key}"
        command = match.group(1).replace('""', '"')
        found[key] = command.replace("{app}\\{#GuiExe}", "C:\\S\\Sorter.exe")
    return found


def test_the_argv_rules_reproduce_the_drive_root_trap():
    # What "%V" gave for a drive root before: the backslash escapes the closing quote.
    assert windows_argv('"C:\\S\\Sorter.exe" "D:\\"') == ["C:\\S\\Sorter.exe", 'D:"']
    assert windows_argv('a "b c" d\\\\"e f"') == ["a", "b c", "d\\e f"]


@pytest.mark.parametrize("key", VERB_KEYS)
@pytest.mark.parametrize("folder", FOLDERS)
def test_each_verb_hands_the_app_the_folder_it_was_used_on(key, folder):
    command = verb_commands()[key].replace("%1", folder).replace("%V", folder)
    argv = windows_argv(command)
    assert len(argv) == 2
    assert PureWindowsPath(clean_path_arg(argv[1], windows=True)) == PureWindowsPath(folder)
    assert PureWindowsPath(argv[1]) == PureWindowsPath(folder)  # right even without the cleaning


def test_every_verb_sets_its_multi_select_model():
    text = ISS.read_text(encoding="utf-8")
    for key in VERB_KEYS:
        line = _subkey(key) + r'; .*ValueName: "MultiSelectModel"; ValueData: "Single"'
        assert re.search(line, text), key


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ('D:"', "D:\\"),  # "D:\" through the C runtime
        ('C:\\My Photos"', "C:\\My Photos\\"),
        ('\\\\server\\share"', "\\\\server\\share\\"),
        ("D:\\\\.", "D:\\\\."),  # what the verbs pass now: already right
        ("C:\\Photos", "C:\\Photos"),
    ],
)
def test_clean_path_arg_gives_back_the_swallowed_backslash(arg, expected):
    assert clean_path_arg(arg, windows=True) == expected
    assert PureWindowsPath(clean_path_arg(arg, windows=True)) == PureWindowsPath(expected)


def test_clean_path_arg_leaves_other_systems_alone():
    assert clean_path_arg('/media/a"', windows=False) == '/media/a"'  # a quote is legal there


def _version_info():
    import importlib.util

    path = ISS.parent / "version_info.py"
    spec = importlib.util.spec_from_file_location("sorter_installer_version_info", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("version", "numeric"),
    [
        ("0.1.0", "0.1.0.0"),
        ("0.2.0rc1", "0.2.0.0"),  # the rc number is not a fourth release number
        ("1.4.dev3", "1.4.0.0"),
        ("2.0.post1+cu130", "2.0.0.0"),
        ("v1.2.3.4.5", "1.2.3.4"),
    ],
)
def test_numeric_version_for_windows_fields(version, numeric):
    assert _version_info().numeric_version(version) == numeric


@pytest.mark.parametrize("version", ["abc", "", "70000.1"])
def test_numeric_version_rejects_what_windows_cannot_hold(version):
    with pytest.raises(ValueError):
        _version_info().numeric_version(version)


def test_installer_version_info_takes_the_numeric_version():
    text = ISS.read_text(encoding="utf-8")
    assert "VersionInfoVersion={#NumericVersion}" in text
    assert "AppVersion={#AppVersion}" in text  # the name users see keeps "rc1"


def test_shortcuts_carry_the_app_user_model_id_the_window_sets():
    from sorter.gui.app import APP_USER_MODEL_ID

    text = ISS.read_text(encoding="utf-8")
    assert f'#define AppUserModelID "{APP_USER_MODEL_ID}"' in text
    icons = text.split("[Icons]")[1].split("\n[")[0]
    shortcuts = [line for line in icons.splitlines() if line.startswith("Name:")]
    assert len(shortcuts) == 2
    assert all('AppUserModelID: "{#AppUserModelID}"' in line for line in shortcuts)


def test_signing_and_compression_are_switches_with_safe_defaults():
    text = ISS.read_text(encoding="utf-8")
    assert "#ifdef SignToolName\nSignTool={#SignToolName}\n#endif" in text  # unsigned by default
    assert '#define Compression "lzma2/max"' in text and "Compression={#Compression}" in text


def test_version_resource_of_a_release_candidate_does_not_outrank_the_release():
    # Before: "0.2.0rc1" gave (0, 2, 0, 1), a higher file version than 0.2.0's (0, 2, 0, 0).
    info = _version_info()
    assert info.version_tuple("0.2.0rc1") == info.version_tuple("0.2.0") == (0, 2, 0, 0)


def test_the_licence_page_shows_sorters_licence():
    text = ISS.read_text(encoding="utf-8")
    setup = text.split("[Setup]")[1].split("\n[")[0]
    lines = [line for line in setup.splitlines() if line.startswith("LicenseFile=")]
    assert lines == ["LicenseFile=..\\LICENSE"]
    # ISCC reads the path relative to the script
    licence = ISS.parent / lines[0].split("=", 1)[1].replace("\\", "/")
    assert licence.read_text(encoding="utf-8").startswith("MIT License")
