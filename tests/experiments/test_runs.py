"""Runs read from CSV folders, offline W&B folders and the W&B public API agree with what was logged."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from sr_lightning.experiments._wandb_file import read_records
from sr_lightning.experiments.runs import CurvePoint, load_run, read_csv_run, read_wandb_api_run, read_wandb_folder
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
    assert run.config["run/log_dir"] == str(fitted_runs.wandb_csv)
    by_file = read_wandb_folder(next(fitted_runs.wandb_run.glob("run-*.wandb")))
    assert by_file.curves == run.curves


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
    (tmp_path / "fake.wandb").write_bytes(b"not a wandb file")
    with pytest.raises(ValueError, match=r"fake\.wandb is not a W&B run file"):
        load_run(tmp_path / "fake.wandb")


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


def _leveldb(records: list[bytes]) -> bytes:
    """The LevelDB log framing of wandb's writer: records split at 32 KiB blocks, block tails zero-padded."""
    out = bytearray(struct.pack("<4sHB", b":W&B", 0xBEE1, 0))
    for data in records:
        first = True
        while True:
            left = 32768 - len(out) % 32768
            if left < 7:
                out += b"\0" * left
                continue
            piece, data = data[: left - 7], data[left - 7 :]
            kind = (1 if first else 4) if not data else (2 if first else 3)
            out += struct.pack("<IHB", zlib.crc32(piece, zlib.crc32(bytes([kind]))), len(piece), kind) + piece
            first = False
            if not data:
                break
    return bytes(out)


def test_records_longer_than_a_block_are_joined(tmp_path: Path) -> None:
    from wandb.proto import wandb_internal_pb2 as pb

    messages = []
    for i, size in enumerate([100, 70_000, 32_700, 5]):  # one record spans three blocks, one ends near a boundary
        record = pb.Record()
        record.history.item.add(key=f"k{i}", value_json='"' + "x" * size + '"')
        messages.append(record)
    path = tmp_path / "run-test.wandb"
    path.write_bytes(_leveldb([m.SerializeToString() for m in messages]))
    assert list(read_records(path)) == messages
    data = bytearray(path.read_bytes())
    data[200] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"run-test\.wandb is corrupt at byte \d+"):
        list(read_records(path))
