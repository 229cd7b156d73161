"""Runs read from CSV folders, offline W&B folders and the W&B public API agree with what was logged."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from sr_lightning.experiments import CurvePoint
from sr_lightning.experiments.runs import load_run, read_csv_run, read_wandb_api_run, read_wandb_folder
from sr_lightning.models import EDSR


def params(**kwargs: int) -> int:
    return sum(p.numel() for p in EDSR(n_resblocks=1, **kwargs).parameters())


def test_csv_run_has_the_logged_curves_model_params_scale_and_steps(fitted_runs, csv_curve) -> None:
    run = read_csv_run(fitted_runs.csv_only)
    assert run.name == "edsr_w4_x3/version_0" and run.source == "csv"
    assert run.curves["val/psnr_y"] == csv_curve(fitted_runs.csv_only, "val/psnr_y")
    assert [(p.step, p.epoch) for p in run.curves["val/ssim_y"]] == [(1, 0), (3, 1)]  # 2 batches an epoch
    assert run.module == "sr_lightning.lit.SRModule" and run.generator == "sr_lightning.models.EDSR"
    assert run.params == params(scale=3, n_feats=4) and run.scale == 3
    assert run.steps == 4  # the checkpoint's global_step
    assert run.config["model.init_args.generator.init_args.n_feats"] == 4
    metrics, config = fitted_runs.csv_only / "metrics.csv", fitted_runs.csv_only / "config.yaml"
    assert run.wall_time_s == pytest.approx(metrics.stat().st_mtime - config.stat().st_mtime)
    # File times can have a 1-2 s resolution (0 is possible) and a slow CI machine can take minutes.
    assert run.wall_time_s is not None and 0 <= run.wall_time_s < 600


def test_offline_wandb_run_matches_the_csv_log_of_the_same_fit(fitted_runs, csv_curve) -> None:
    run = read_wandb_folder(fitted_runs.wandb_run)
    assert run.name == "edsr_w8/version_0" and run.source == "wandb-offline"
    for key in ("val/psnr_y", "val/ssim_y", "val/loss", "val/bicubic_psnr_y"):
        assert run.curves[key] == csv_curve(fitted_runs.wandb_csv, key)  # both loggers got the same values
    assert not any(key.startswith("val/panel") for key in run.curves)  # images are not curves
    assert run.params == params(scale=2, n_feats=8) and run.scale == 2 and run.steps == 4
    assert run.wall_time_s is not None and 0 <= run.wall_time_s < 600
    assert run.config["run/log_dir"] == str(fitted_runs.wandb_csv) and run.config["data.init_args.scale"] == 2
    assert run.config["model/params"] == run.params and run.location == str(fitted_runs.wandb_run)
    by_file = read_wandb_folder(next(fitted_runs.wandb_run.glob("run-*.wandb")))  # the transaction log: its folder
    assert by_file == run


def _copy_runs(fitted_runs, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the session's ``runs/`` tree; returns the copied W&B run folder and its ``files/config.yaml``."""
    shutil.copytree(fitted_runs.root / "runs", tmp_path / "runs")
    folder = tmp_path / "runs" / "wandb" / fitted_runs.wandb_run.name
    return folder, folder / "files" / "config.yaml"


def _edit_config(path: Path, **changes: object) -> None:
    config = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        if value is None:
            config.pop(key.replace("__", "/"))
        else:
            config[key.replace("__", "/")] = {"value": value}
    path.write_text(yaml.safe_dump(config))


def test_a_copied_runs_tree_finds_the_csv_log_beside_the_wandb_run(fitted_runs, tmp_path, csv_curve) -> None:
    folder, config = _copy_runs(fitted_runs, tmp_path)
    _edit_config(config, run__log_dir=str(tmp_path / "moved-away" / "edsr_w8" / "version_0"))
    run = read_wandb_folder(folder)
    assert run.curves["val/psnr_y"] == csv_curve(fitted_runs.wandb_csv, "val/psnr_y") and run.steps == 4
    assert run.location == str(folder) and run.name == "edsr_w8/version_0"


def test_wandb_history_and_summary_files_are_read_when_wandb_wrote_them(fitted_runs, tmp_path) -> None:
    """A run folder W&B wrote ``files/wandb-history.jsonl`` and ``files/wandb-summary.json`` into: its curves by
    ``trainer/global_step``, images left out, ``model/params`` and ``_runtime`` from the summary."""
    folder, config = _copy_runs(fitted_runs, tmp_path)
    _edit_config(config, run__log_dir=None, run__name=None)  # no CSV log to fall back on
    image = {"_type": "image-file", "path": "media/images/val/panel_1.png", "width": 96}
    rows = [
        {"trainer/global_step": 0, "epoch": 0, "train/loss": 0.3, "_runtime": 2.0},
        {"trainer/global_step": 9, "epoch": 0, "val/psnr_y": 24.0, "val/panel": image, "_runtime": 5.5},
        {"trainer/global_step": 19, "epoch": 1, "val/psnr_y": 26.5, "_runtime": 9.0},
    ]
    (folder / "files" / "wandb-history.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    (folder / "files" / "wandb-summary.json").write_text(json.dumps({"_runtime": 12.5, "model/params": 77}))
    run = read_wandb_folder(folder)
    assert run.curves == {"val/psnr_y": [CurvePoint(9, 0, 24.0), CurvePoint(19, 1, 26.5)]}
    assert run.steps == 20 and run.wall_time_s == 12.5 and run.params == 77 and run.scale == 2
    assert run.name == folder.name.rsplit("-", 1)[-1]  # the run id, without run/name in the config
    (folder / "files" / "wandb-summary.json").unlink()
    assert read_wandb_folder(folder).wall_time_s == 9.0  # the history's last _runtime


def test_wandb_folders_without_readable_files_name_the_folder_and_the_missing_file(fitted_runs, tmp_path) -> None:
    folder, config = _copy_runs(fitted_runs, tmp_path)
    _edit_config(config, run__log_dir=str(tmp_path / "nowhere" / "edsr_w8" / "version_1"))
    with pytest.raises(
        FileNotFoundError,
        match=rf"{re.escape(str(folder))} has no files/wandb-history\.jsonl, and the CSV log .*"
        r"\(run/log_dir: .*nowhere/edsr_w8/version_1\) has no metrics\.csv",
    ):
        read_wandb_folder(folder)
    _edit_config(config, run__log_dir=None)
    with pytest.raises(
        FileNotFoundError,
        match=rf"{re.escape(str(folder))} has no files/wandb-history\.jsonl, and its "
        r"files/config\.yaml names no CSV log \(run/log_dir\)",
    ):
        load_run(folder)
    config.unlink()  # a run logged offline by another tool: the transaction log only
    named = re.escape(str(folder))
    with pytest.raises(FileNotFoundError, match=rf"{named} has no files/config\.yaml .*wandb sync {named}"):
        load_run(folder)


def test_a_folder_of_runs_gives_each_run(fitted_runs) -> None:
    runs = load_run(fitted_runs.root / "runs" / "wandb")
    assert [r.source for r in runs] == ["wandb-offline"]
    names = [r.name for r in load_run(fitted_runs.root / "runs" / "edsr_w8")]
    assert names == ["edsr_w8/version_0"]


def test_bad_run_paths_name_the_path_and_the_three_forms(tmp_path: Path) -> None:
    forms = r"Lightning CSV log folder.*local W&B run folder.*W&B run path entity/project/run_id"
    with pytest.raises(FileNotFoundError, match=rf"no/such-run does not exist and is not a W&B run path.*{forms}"):
        load_run("no/such-run")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=rf"no run found at {tmp_path / 'empty'}.*{forms}"):
        load_run(tmp_path / "empty")
    (tmp_path / "run-fake.wandb").write_bytes(b"not read")
    with pytest.raises(FileNotFoundError, match=rf"{tmp_path} has no files/config\.yaml"):
        load_run(tmp_path / "run-fake.wandb")


def test_run_path_without_credentials_is_a_clear_error_without_network(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_IDENTITY_TOKEN_FILE", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "missing-netrc"))
    monkeypatch.setattr("sr_lightning.experiments.wandb_mode.host_reachable", lambda *a, **k: pytest.fail("network"))
    with pytest.raises(ConnectionError, match=r"W&B run team/proj/abc123 cannot be read: no W&B credentials") as error:
        load_run("team/proj/abc123")
    assert "team/proj/abc123 is no local folder either" in str(error.value) and "offline-run-" in str(error.value)


def test_wandb_api_run_through_an_injected_api(fake_api) -> None:
    api = fake_api()
    (run,) = load_run("https://wandb.ai/team/proj/runs/abc123?workspace=user", api=api)
    assert api.paths == ["team/proj/abc123"] and run.source == "wandb" and run.location == "team/proj/abc123"
    assert run.name == "edsr-gan" and run.generator == "sr_lightning.models.EDSR" and run.scale == 4
    assert run.params == 1234 and run.wall_time_s == 600.5 and run.steps == 300
    assert run.curves["val/psnr_y"] == [CurvePoint(99, 0, 24.0), CurvePoint(199, 1, 26.5), CurvePoint(299, 2, 26.0)]
    assert [p.value for p in run.curves["val/lpips_alex"]] == [0.30, 0.25, 0.21]
    assert api.fake.asked == [[k, "trainer/global_step", "epoch"] for k in ("val/lpips_alex", "val/psnr_y")]


def test_wandb_api_errors_name_the_run() -> None:
    class Failing:
        def run(self, path: str) -> None:
            raise RuntimeError("Could not find run <Run team/proj/nope>")

    with pytest.raises(ConnectionError, match=r"W&B run team/proj/nope cannot be read .*Could not find run"):
        read_wandb_api_run("team/proj/nope", api=Failing())
