"""``sr-lightning compare`` on real CSV and offline W&B runs: the table holds the logged best/last values, the CSV
the same at full precision, and the plots every run's curve on shared axes."""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from PIL import Image

from sr_lightning.cli import run as cli_run
from sr_lightning.commands.compare import main
from sr_lightning.experiments.compare import format_markdown
from sr_lightning.experiments.plots import plot_metric
from sr_lightning.experiments.runs import load_runs
from sr_lightning.models import EDSR


def _params(**kwargs: int) -> int:
    return sum(p.numel() for p in EDSR(n_resblocks=1, **kwargs).parameters())


def test_compare_prints_and_writes_the_logged_values(fitted_runs, csv_curve, tmp_path: Path, capsys) -> None:
    out = tmp_path / "compare"
    runs = [fitted_runs.wandb_csv, fitted_runs.wandb_run, fitted_runs.csv_only]
    rows = main([*map(str, runs), "-o", str(out)])
    printed = capsys.readouterr().out
    assert [(r.run, r.source) for r in rows] == [
        ("edsr_w8/version_0", "csv"),
        ("edsr_w8/version_0", "wandb-offline"),
        ("edsr_w4_x3/version_0", "csv"),
    ]
    for row, folder in zip(rows, [fitted_runs.wandb_csv, fitted_runs.wandb_csv, fitted_runs.csv_only], strict=True):
        for key in ("val/psnr_y", "val/ssim_y"):
            values = [p.value for p in csv_curve(folder, key)]
            assert row.best[key] == max(values) and row.last[key] == values[-1]
        assert row.steps == 4 and row.model == "EDSR"
    w8, w4 = (_params(scale=2, n_feats=8), 2), (_params(scale=3, n_feats=4), 3)
    assert [(r.params, r.scale) for r in rows] == [w8, w8, w4]
    table = (out / "runs.md").read_text().strip()
    assert table in printed and table == format_markdown(rows)
    header, _, *lines = table.splitlines()
    assert header.startswith("| Run | Source | Model | Params | xS | PSNR-Y best | PSNR-Y last | SSIM-Y best |")
    w8 = rows[0]
    assert lines[0].startswith(
        f"| edsr_w8/version_0 | csv | EDSR | {_params(scale=2, n_feats=8) / 1e3:.1f} k | x2 | "
        f"{w8.best['val/psnr_y']:.2f} | {w8.last['val/psnr_y']:.2f} | {w8.best['val/ssim_y']:.4f} |"
    )
    assert "LPIPS" not in header and "FID" not in header  # not logged by these runs
    with (out / "runs.csv").open(newline="") as file:
        written = list(csv.DictReader(file))
    assert [float(r["val/psnr_y best"]) for r in written] == [r.best["val/psnr_y"] for r in rows]
    assert [int(r["params"]) for r in written] == [r.params for r in rows]
    plots = [out / "val_psnr_y.png", out / "val_ssim_y.png"]
    assert all(Image.open(path).format == "PNG" for path in plots)
    assert all(str(path.resolve()) in printed for path in [out / "runs.md", out / "runs.csv", *plots])


def test_plot_has_one_line_per_run_with_the_logged_points(fitted_runs, csv_curve) -> None:
    runs = load_runs([fitted_runs.root / "runs" / "edsr_w8", fitted_runs.wandb_run, fitted_runs.csv_only])
    figure = plot_metric(runs, "val/psnr_y", x="epoch")
    try:
        (axes,) = figure.axes
        assert len(axes.lines) == 3
        folders = [fitted_runs.wandb_csv, fitted_runs.wandb_csv, fitted_runs.csv_only]
        for line, folder in zip(axes.lines, folders, strict=True):
            expected = csv_curve(folder, "val/psnr_y")
            assert list(line.get_xdata()) == [p.epoch for p in expected]
            assert list(line.get_ydata()) == [p.value for p in expected]
        labels = [text.get_text() for text in axes.get_legend().get_texts()]
        assert labels == ["edsr_w8/version_0 (csv)", "edsr_w8/version_0 (wandb-offline)", "edsr_w4_x3/version_0 (csv)"]
        assert axes.get_xlabel() == "epoch"
    finally:
        plt.close(figure)


def test_lpips_and_fid_columns_appear_when_logged(fake_api, capsys, tmp_path: Path) -> None:
    rows = [
        {"trainer/global_step": s, "epoch": e, "val/psnr_y": 25.0 + e, "val/fid_patch64": 40.0 - 3 * e + e * e}
        for e, s in enumerate([99, 199, 299])
    ]
    api = fake_api(rows, summary={"val/fid_patch64": 40.0, "val/lpips_alex": None})
    (row,) = main(["team/proj/abc123", "-o", str(tmp_path)], api=api)
    assert row.best == {"val/psnr_y": 27.0, "val/fid_patch64": 38.0}  # FID: the smallest, at epoch 1 and 2
    assert row.last == {"val/psnr_y": 27.0, "val/fid_patch64": 40.0 - 6 + 4}
    header, _, line = capsys.readouterr().out.splitlines()[:3]
    assert header.endswith(
        "| PSNR-Y best | PSNR-Y last | SSIM-Y best | SSIM-Y last | FID (patch64) best "
        "| FID (patch64) last | Steps | Wall time |"
    )
    assert line == "| edsr-gan | wandb | EDSR | 1.2 k | x4 | 27.00 | 27.00 | - | - | 38.00 | 38.00 | 300 | 10m 00s |"
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["val_fid_patch64.png", "val_psnr_y.png"]


def test_compare_through_the_console_script_with_a_bad_path(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"sr-lightning compare: .*nowhere does not exist.*W&B run path"):
        cli_run(["compare", str(tmp_path / "nowhere"), "-o", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()


def test_the_old_entry_point_still_runs_the_command_and_says_where_it_moved(fitted_runs, tmp_path: Path) -> None:
    from sr_lightning.experiments import compare

    with pytest.warns(DeprecationWarning, match="sr_lightning.commands.compare.main"):
        rows = compare.main([str(fitted_runs.csv_only), "-o", str(tmp_path / "out")])
    assert len(rows) == 1 and (tmp_path / "out" / "runs.md").is_file()
