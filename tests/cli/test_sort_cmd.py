"""`sorter sort` and `sorter undo` end to end with a tiny real model: output, exit codes, JSON."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "core"))
from fakes import make_image, make_tiny_model, tree_hashes

from sorter.cli import main
from sorter.core.sorting.outputlock import OutputLock


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("model") / "tiny.pth")


@pytest.fixture
def src(tmp_path) -> Path:
    folder = tmp_path / "Photos"
    for i in range(5):
        make_image(folder / f"sub{i % 2}" / f"img{i}.jpg", (40 * i, 200 - 30 * i, 90))
    make_image(folder / "sub1" / "img0.jpg", (1, 2, 3))  # same name, other content
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    return folder


def sort(capsys, *args):
    code = main(["sort", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_sort_prints_summary_and_writes_tree(capsys, src, model_file):
    before = tree_hashes(src)
    code, out, err = sort(capsys, src, "--model", model_file, "--batch-size", 2)
    assert code == 0
    assert "Using CPU, a multi-label model: an image may go to several folders" in err
    name = Path(model_file).name  # a file given with --model, while the built-in model is current
    assert f"Model: {name} (not the current model: that is default, which corrections teach)" in err
    assert "Scoring" in err and "Copying" in err  # the progress bar
    assert "Sorted 7 images" in out and "unreadable: 1" in out and "images/s" in out
    sorted_dir = src.with_name("Photos (sorted)")
    files = tree_hashes(sorted_dir)
    assert "sorter-report.csv" in files
    assert len([f for f in files if f != "sorter-report.csv"]) >= 6  # every readable image
    assert tree_hashes(src) == before


def test_json_summary(capsys, src, model_file, tmp_path):
    code, out, _ = sort(capsys, src, "--model", model_file, "--out", tmp_path / "o", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["images"] == 7 and data["unreadable"] == 1 and data["device"] == "CPU"
    assert sum(data["per_category"].values()) + data["uncertain"] >= 6
    assert data["out"] == str(tmp_path / "o")
    assert any("broken.png" in e["source"] for e in data["errors"])


def test_dry_run_writes_nothing(capsys, src, model_file, tmp_path):
    code, out, _ = sort(capsys, src, "--model", model_file, "--out", tmp_path / "o", "--dry-run")
    assert code == 0
    assert "Dry run: nothing written" in out and "img3.jpg ->" in out
    assert not (tmp_path / "o").exists()


def test_threshold_zero_copies_into_every_category(capsys, src, model_file, tmp_path):
    code, out, _ = sort(capsys, src, "--model", model_file, "--out", tmp_path / "o", "--json",
                        "--threshold", "0")  # fmt: skip
    assert code == 0
    assert json.loads(out)["per_category"] == {"cats": 6, "dogs": 6, "cars": 6}


def test_current_model_is_used_without_model_flag(capsys, src, model_file, tmp_path):
    from sorter.core.settings import Settings, save_settings

    save_settings(Settings(model_path=str(model_file)))
    code, out, err = sort(capsys, src, "--out", tmp_path / "o", "--json")
    assert code == 0
    assert set(json.loads(out)["per_category"]) <= {"cats", "dogs", "cars"}
    assert f"Model: {model_file.name}\n" in err  # the current one: nothing more to say


def test_the_device_chosen_in_settings_is_used_unless_given(
    capsys, src, model_file, tmp_path, monkeypatch
):
    import torch

    from sorter.core.settings import Settings, save_settings

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    save_settings(Settings(device="cuda"))
    code, _, err = sort(capsys, src, "--model", model_file, "--out", tmp_path / "o")
    assert code != 0 and "No usable NVIDIA GPU" in err  # Settings asked for the GPU
    assert not (tmp_path / "o").exists()
    code, _, err = sort(capsys, src, "--model", model_file, "--out", tmp_path / "o",
                        "--device", "cpu")  # fmt: skip
    assert code == 0 and "Using CPU" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{tmp}/missing"], "does not exist"),
        (["{src}", "--out", "{src}"], "is the source folder"),
        (["{src}", "--out", "{tmp}"], "cannot hold the source"),
        (["{src}", "--threshold", "2"], "between 0 and 1"),
        (["{src}", "--move", "--link"], "not allowed with"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(capsys, src, model_file, tmp_path, args, message):
    args = [a.format(tmp=tmp_path, src=src) for a in args] + ["--model", str(model_file)]
    with_exit = pytest.raises(SystemExit) if "--threshold" in args or "--move" in args else None
    if with_exit:
        with with_exit as exc:
            main(["sort", *args])
        assert exc.value.code == 2
        assert message in capsys.readouterr().err
        return
    code, _, err = sort(capsys, *args)
    assert code == 2
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_corrupt_model_file_exit_2(capsys, src, tmp_path):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"PK\x03\x04 not really a model")
    code, _, err = sort(capsys, src, "--model", bad, "--out", tmp_path / "o")
    assert code == 2 and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_model_for_another_architecture_exit_2(capsys, src, tmp_path, model_file):
    from sorter.core.model.modelfile import read_model_file, save_model

    meta, weights = read_model_file(model_file)
    wrong = tmp_path / "wrong.pth"
    save_model(wrong, meta.replace(arch="resnet34"), weights)
    code, _, err = sort(capsys, src, "--model", wrong, "--out", tmp_path / "o")
    assert code == 2 and "Traceback" not in err
    assert "resnet34" in err


def test_locked_output_exit_2(capsys, src, model_file, tmp_path):
    out_dir = tmp_path / "o"
    out_dir.mkdir()
    with OutputLock(out_dir):
        code, _, err = sort(capsys, src, "--model", model_file, "--out", out_dir)
    assert code == 2 and "Another Sorter run" in err


def test_undo_command(capsys, src, model_file, tmp_path):
    out_dir = tmp_path / "o"
    assert sort(capsys, src, "--model", model_file, "--out", out_dir)[0] == 0
    assert main(["undo", str(out_dir), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["removed"] >= 6 and result["kept"] == []
    assert set(tree_hashes(out_dir)) == {"sorter-report.csv"}
    assert main(["undo", str(out_dir)]) == 2
    assert "Nothing to undo" in capsys.readouterr().err


def test_move_and_undo_via_cli(capsys, src, model_file, tmp_path):
    before = tree_hashes(src)
    out_dir = tmp_path / "o"
    assert sort(capsys, src, "--model", model_file, "--out", out_dir, "--move")[0] == 0
    assert set(tree_hashes(src)) == {"broken.png"}
    assert main(["undo", str(out_dir)]) == 0
    assert "put back 6 moved images" in capsys.readouterr().out
    assert tree_hashes(src) == before


def test_first_ctrl_c_asks_to_stop_second_stops_now(capsys):
    import os
    import signal

    from sorter.cli.sort_cmd import ctrl_c_cancels
    from sorter.core.jobs import CancelToken

    cancel = CancelToken()
    # Whatever handler the test process inherited (SIG_IGN when started in the background).
    before = signal.getsignal(signal.SIGINT)
    with ctrl_c_cancels(cancel):
        os.kill(os.getpid(), signal.SIGINT)
        assert cancel.cancelled
        assert "Stopping after the current image" in capsys.readouterr().err
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before


def _one_error_line(err: str) -> str:
    """The single `sorter: ...` line of a failed command (progress and notes aside)."""
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("sorter:")]
    assert len(lines) == 1, err
    return lines[0]


def test_nan_scores_stop_the_sort_with_one_line(capsys, src, model_file, tmp_path, monkeypatch):
    import torch

    from sorter.core.model.modelfile import LoadedModel

    def nan_scores(self, batch):
        return torch.full((len(batch), len(self.categories)), float("nan"))

    monkeypatch.setattr(LoadedModel, "scores", nan_scores)
    out_dir = tmp_path / "o"
    code, _, err = sort(capsys, src, "--model", model_file, "--out", out_dir, "--threshold", "0")
    assert code == 2
    line = _one_error_line(err)
    assert "NaN or infinite scores" in line and str(model_file) in line
    assert "sorter models use default" in line
    assert tree_hashes(out_dir) == {}  # nothing copied, not even into "uncertain"


def test_model_with_nan_weights_is_refused_before_sorting(capsys, src, model_file, tmp_path):
    import torch

    from sorter.core.model.modelfile import read_model_file

    meta, state = read_model_file(model_file)
    state["1.8.weight"][0, 0] = float("nan")
    nan_file = tmp_path / "nan.pth"
    payload = {"format": "sorter-model", "version": 1, "meta": meta.to_dict(), "state_dict": state}
    torch.save(payload, nan_file, pickle_protocol=4)
    out_dir = tmp_path / "o"
    code, _, err = sort(capsys, src, "--model", nan_file, "--out", out_dir, "--threshold", "0")
    assert code == 2
    assert str(nan_file) in _one_error_line(err)
    assert not out_dir.exists()


def test_a_card_without_out_is_sorted_into_pictures(capsys, src, model_file, monkeypatch):
    # A drive root or a mounted card has no folder beside it: before, `sorter sort D:\` stopped
    # with "Give an output folder"; now the copies go to Pictures, and the command says where.
    from sorter import appdirs

    real_ismount = os.path.ismount
    monkeypatch.setattr(os.path, "ismount", lambda p: Path(p) == src or real_ismount(p))
    code, out, err = sort(capsys, src, "--model", model_file)
    target = appdirs.pictures_dir() / "Sorted from Photos"
    assert code == 0
    assert f"Copies go to {target}" in err
    assert f"into {target}" in out
    assert not src.with_name("Photos (sorted)").exists()


def test_an_output_under_onedrive_is_noted_once(capsys, src, model_file, tmp_path, monkeypatch):
    cloud = tmp_path / "OneDrive - Contoso"
    monkeypatch.setenv("OneDriveCommercial", str(cloud))
    code, _, err = sort(capsys, src, "--model", model_file, "--out", cloud / "o", "--dry-run")
    assert code == 0 and err.count("Note: The copies go into OneDrive") == 1
    code, _, err = sort(capsys, src, "--model", model_file, "--out", tmp_path / "o", "--dry-run")
    assert code == 0 and "OneDrive" not in err


def test_sorting_an_output_folder_points_to_resort(capsys, src, model_file, tmp_path):
    out_dir = tmp_path / "o"
    code, _, err = sort(capsys, src, "--model", model_file, "--out", out_dir)
    assert code == 0 and "holds an earlier sort" not in err
    code, _, err = sort(capsys, out_dir, "--model", model_file, "--out", tmp_path / "again")
    assert code == 0  # still sorted as asked: the command line does what it is told
    assert f"Note: {out_dir} holds an earlier sort" in err
    assert f'sorter resort "{out_dir}"' in err
