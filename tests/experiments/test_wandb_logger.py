"""The W&B mode is decided without hanging (and without the network when there are no credentials), an offline run
says where it is, and ``--wandb.project`` logs the whole config, the parameter count, images and checkpoints."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from sr_lightning.experiments import SRWandbLogger, flatten_config, resolve_wandb_mode, wandb_credentials
from sr_lightning.models import EDSR

LOGGER = "sr_lightning.experiments.wandb_logger"
MODE = "sr_lightning.experiments.wandb_mode"


@pytest.fixture
def no_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("WANDB_API_KEY", "WANDB_IDENTITY_TOKEN_FILE", "WANDB_MODE", "WANDB_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    netrc = tmp_path / "netrc"
    netrc.write_text("machine example.com login user password secret\n")
    monkeypatch.setenv("NETRC", str(netrc))
    return netrc


def test_auto_without_credentials_is_offline_without_touching_the_network(no_credentials, monkeypatch) -> None:
    monkeypatch.setattr(f"{MODE}.host_reachable", lambda *a, **k: pytest.fail("the network was checked"))
    assert wandb_credentials() is None
    mode, reason = resolve_wandb_mode("auto")
    assert mode == "offline" and "WANDB_API_KEY" in reason and "wandb login" in reason


def test_auto_with_credentials_checks_the_host_with_a_short_timeout(no_credentials, monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(f"{MODE}.host_reachable", lambda host, timeout: calls.append((host, timeout)) or False)
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    assert resolve_wandb_mode("auto") == ("offline", "api.wandb.ai:443 did not answer within 3 s")
    monkeypatch.setattr(f"{MODE}.host_reachable", lambda host, timeout: calls.append((host, timeout)) or True)
    assert resolve_wandb_mode("auto", connect_timeout=1.5)[0] == "online"
    assert calls == [("api.wandb.ai", 3.0), ("api.wandb.ai", 1.5)]


def test_netrc_entry_for_the_wandb_host_counts_as_credentials(no_credentials, monkeypatch) -> None:
    no_credentials.write_text("machine api.wandb.ai\n  login user\n  password " + "k" * 40 + "\n")
    monkeypatch.setattr(f"{MODE}.host_reachable", lambda host, timeout: True)
    assert wandb_credentials() == str(no_credentials)
    mode, reason = resolve_wandb_mode("auto")
    assert mode == "online" and str(no_credentials) in reason


@pytest.mark.parametrize(("env", "expected"), [("offline", "offline"), ("dryrun", "offline"), ("disabled", "disabled")])
def test_auto_follows_an_explicit_wandb_mode(no_credentials, monkeypatch, env: str, expected: str) -> None:
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    monkeypatch.setenv("WANDB_MODE", env)
    monkeypatch.setattr(f"{MODE}.host_reachable", lambda *a, **k: pytest.fail("the network was checked"))
    assert resolve_wandb_mode("auto") == (expected, f"WANDB_MODE={env}")


def test_online_without_credentials_and_unknown_modes_are_clear_errors(no_credentials, monkeypatch) -> None:
    with pytest.raises(ValueError, match=r"'online' needs credentials.*wandb login.*--wandb.mode auto"):
        resolve_wandb_mode("online")
    with pytest.raises(ValueError, match=r"got 'cloud'"):
        resolve_wandb_mode("cloud")  # type: ignore[arg-type]
    monkeypatch.setenv("WANDB_MODE", "sometimes")
    with pytest.raises(ValueError, match=r"WANDB_MODE='sometimes'"):
        resolve_wandb_mode("auto")


def test_flatten_config_keeps_lists_and_empty_dicts() -> None:
    nested = {"a": {"b": {"c": 1}, "d": [1, 2]}, "e": {}, "f": None}
    assert flatten_config(nested) == {"a.b.c": 1, "a.d": [1, 2], "e": {}, "f": None}


def test_auto_retries_offline_when_the_online_init_fails(tmp_path, no_credentials, monkeypatch, capsys) -> None:
    import wandb

    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setattr(f"{LOGGER}.resolve_wandb_mode", lambda mode, connect_timeout: ("online", "test"))
    real_init, modes = wandb.init, []

    def init(**kwargs):
        modes.append(kwargs["mode"])
        if kwargs["mode"] == "online":
            raise wandb.errors.CommError("connection refused")
        return real_init(**kwargs)

    monkeypatch.setattr(wandb, "init", init)
    logger = SRWandbLogger(project="test", save_dir=tmp_path, name="retry")
    try:
        run = logger.experiment
        assert modes == ["online", "offline"] and logger.mode == "offline"
        assert Path(run.dir).parent.parent == tmp_path / "wandb"
    finally:
        logger.finish()
    line = capsys.readouterr().out.strip().splitlines()[-1]
    folder = Path(run.dir).parent.resolve()
    assert line.startswith(f"W&B logs offline to {folder} (online wandb.init failed: CommError: connection refused)")
    assert line.endswith(f"upload later: wandb sync {folder}")


def _offline_config(run_folder: Path) -> dict:
    """The ``files/config.yaml`` of a W&B run folder, as W&B writes it for online runs: ``key: {value: ...}``."""
    written = yaml.safe_load((run_folder / "files" / "config.yaml").read_text())
    assert all(set(entry) == {"value"} for entry in written.values())
    return {key: entry["value"] for key, entry in written.items()}


def test_cli_run_logs_config_params_images_and_checkpoints_offline(fitted_runs) -> None:
    run_folder = fitted_runs.wandb_run.resolve()
    assert f"W&B logs offline to {run_folder} (no W&B credentials" in fitted_runs.printed
    assert f"wandb sync {run_folder}" in fitted_runs.printed
    init = fitted_runs.wandb_init
    assert init["name"] == "edsr_w8/version_0" and init["project"] == "test" and init["tags"] == ["tiny", "edsr"]
    assert init["mode"] == "offline"
    config = _offline_config(fitted_runs.wandb_run)
    assert config["model.init_args.generator.class_path"] == "sr_lightning.models.EDSR"
    assert config["model.init_args.generator.init_args.n_feats"] == 8
    assert config["data.init_args.scale"] == 2 and config["model.init_args.optimizer.init_args.lr"] == 1e-3
    assert config["run/log_dir"] == str(fitted_runs.wandb_csv) and config["run/name"] == "edsr_w8/version_0"
    generator = EDSR(scale=2, n_resblocks=1, n_feats=8)
    assert config["model/params"] == sum(p.numel() for p in generator.parameters())
    assert not (fitted_runs.wandb_run / "files" / "config.yaml.partial").exists()
    panels = sorted((fitted_runs.wandb_run / "files" / "media" / "images" / "val").glob("panel_*.png"))
    assert len(panels) == 2  # one image panel per validation epoch
    run_id = fitted_runs.wandb_run.name.rsplit("-", 1)[-1]
    best = next((fitted_runs.wandb_csv / "checkpoints").glob("best-*.ckpt")).name
    assert fitted_runs.artifacts == {(f"model-{run_id}", best), (f"model-{run_id}", "last.ckpt")}
    checkpoint = torch.load(fitted_runs.wandb_csv / "checkpoints" / "last.ckpt", weights_only=True, map_location="cpu")
    assert checkpoint["global_step"] == 4


def test_offline_run_config_file_follows_every_config_update(tmp_path, no_credentials, monkeypatch) -> None:
    monkeypatch.setenv("WANDB_SILENT", "true")
    logger = SRWandbLogger(project="test", mode="offline", save_dir=tmp_path, name="direct", config={"a": 1})
    try:
        folder = Path(logger.experiment.dir).parent
        assert _offline_config(folder) == {"a": 1}  # written as soon as the run starts
        logger.log_hyperparams({"b": {"c": 2}})
        generator = EDSR(n_resblocks=1, n_feats=4)
        logger.log_graph(generator)
        params = sum(p.numel() for p in generator.parameters())
        assert _offline_config(folder) == {"a": 1, "b": {"c": 2}, "model/params": params}
    finally:
        logger.finish()
