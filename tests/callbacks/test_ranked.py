"""BestWorstImages: the lists equal a direct ranking of per-image SSIM-Y, the grids show those images."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from lightning.pytorch.callbacks import Callback
from PIL import Image

from sr_lightning import EDSR, SRDataModule, SRModule
from sr_lightning.callbacks import ranked
from sr_lightning.callbacks.images import detail_offset, make_panel
from sr_lightning.callbacks.ranked import BestWorstImages, format_ranking
from sr_lightning.metrics.functional import ssim_y


class _Record(Callback):
    """Keeps every validation output (outside the sanity check) and what existed when the sanity check ended."""

    def __init__(self, ranker: BestWorstImages) -> None:
        self.ranker = ranker
        self.outputs: dict[int, list[dict[str, Any]]] = {}
        self.after_sanity: tuple[list[Path], list, dict] | None = None
        self.sanity_batches = 0

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        self.sanity_batches += trainer.sanity_checking
        if not trainer.sanity_checking:
            kept = {key: value.clone() if torch.is_tensor(value) else value for key, value in outputs.items()}
            self.outputs.setdefault(trainer.current_epoch, []).append(kept)

    def on_sanity_check_end(self, trainer, pl_module) -> None:
        pngs = sorted(Path(trainer.default_root_dir).glob("images/*.png"))
        self.after_sanity = (pngs, list(self.ranker.best), dict(self.ranker.last_paths))


def _fit(
    tmp_path: Path, tiny_data, tiny_trainer, ranker: BestWorstImages, val_images: int, epochs: int, sanity: int = 0
) -> _Record:
    data = tiny_data(val_images, val_batch_size=2)
    record = _Record(ranker)
    trainer = tiny_trainer(
        max_epochs=epochs, limit_train_batches=1, num_sanity_val_steps=sanity, callbacks=[ranker, record]
    )
    trainer.fit(SRModule(EDSR(scale=2, n_resblocks=1, n_feats=8)), datamodule=data)
    return record


def _direct_ranking(outputs: list[dict[str, Any]]) -> list[tuple[str, float, torch.Tensor]]:
    """(name, SSIM-Y, HR detail crop) of every image, best first, scored independently of the callback."""
    scored = []
    for out in outputs:
        scores = ssim_y(out["sr"], out["hr"], border=2, reduction="none")
        for i, name in enumerate(out["name"]):
            crop = make_panel(out["lr"][i], out["sr"][i], out["hr"][i], 2, 16, detail_offset(out["hr"][i], 2, 16))
            scored.append((name, scores[i].item(), crop))
    return sorted(scored, key=lambda item: -item[1])


def _png(path: Path) -> torch.Tensor:
    return torch.from_numpy(np.array(Image.open(path).convert("RGB"))).permute(2, 0, 1)


def test_best_and_worst_equal_a_direct_ranking(tmp_path: Path, tiny_data, tiny_trainer) -> None:
    ranker = BestWorstImages(k=2, crop_size=16, every_n_epochs=2)
    record = _fit(tmp_path, tiny_data, tiny_trainer, ranker, val_images=4, epochs=2)
    assert sorted(p.name for p in (tmp_path / "images").glob("*.png")) == [
        "best_ssim_epoch001.png",  # epoch 0 is skipped: every_n_epochs=2
        "worst_ssim_epoch001.png",
    ]
    expected = _direct_ranking(record.outputs[1])
    assert len(expected) == 4 and len({score for _, score, _ in expected}) == 4  # no ties to break
    assert [name for name, _ in ranker.best] == [name for name, _, _ in expected[:2]]
    assert [name for name, _ in ranker.worst] == [name for name, _, _ in expected[::-1][:2]]
    assert [score for _, score in ranker.best] == pytest.approx([s for _, s, _ in expected[:2]], abs=1e-12)
    assert [score for _, score in ranker.worst] == pytest.approx([s for _, s, _ in expected[::-1][:2]], abs=1e-12)
    for kind, chosen in (("best", expected[:2]), ("worst", expected[::-1][:2])):
        png = _png(ranker.last_paths[kind])
        assert png.shape == (3, 2 * 16 + 3 * 2, 4 * 16 + 5 * 2)  # k rows of 4 crops of 16 px, 2 px padding
        for row, (_, _, crop) in enumerate(chosen):
            y = 2 + row * 18
            for column in range(4):
                x = 2 + column * 18
                tile = png[:, y : y + 16, x : x + 16]
                assert torch.equal(tile, (crop[column] * 255 + 0.5).clamp(0, 255).to(torch.uint8))


def test_k_larger_than_the_validation_set_and_nothing_in_the_sanity_check(
    tmp_path: Path, tiny_data, tiny_trainer
) -> None:
    ranker = BestWorstImages(k=10, crop_size=16)
    record = _fit(tmp_path, tiny_data, tiny_trainer, ranker, val_images=3, epochs=1, sanity=2)
    assert record.sanity_batches == 2 and record.after_sanity == ([], [], {})  # it ran, nothing was drawn
    expected = _direct_ranking(record.outputs[0])
    assert [name for name, _ in ranker.best] == [name for name, _, _ in expected]
    assert ranker.worst == ranker.best[::-1]
    assert Image.open(ranker.last_paths["worst"]).size == (4 * 16 + 5 * 2, 3 * 16 + 4 * 2)


def test_rank_zero_merges_the_candidates_of_every_process(tmp_path: Path, tiny_data, tiny_trainer, monkeypatch) -> None:
    other = ranked._Candidate(2.0, (1, 0), "from_rank_1", torch.zeros(4, 3, 16, 16))
    repeat = ranked._Candidate(-1.0, (1, 1), "img0", torch.zeros(4, 3, 16, 16))  # a DistributedSampler repeat
    monkeypatch.setattr(ranked, "_gather", lambda local: [*local, other, repeat])
    ranker = BestWorstImages(k=4, crop_size=16)
    record = _fit(tmp_path, tiny_data, tiny_trainer, ranker, val_images=3, epochs=1)
    mine = [(name, score) for name, score, _ in _direct_ranking(record.outputs[0])]
    assert ranker.best == [("from_rank_1", 2.0), *mine]  # img0 once, with rank zero's score
    assert ranker.worst == ranker.best[::-1]


def test_gather_uses_all_gather_object_under_ddp(monkeypatch) -> None:
    mine = [ranked._Candidate(0.5, (0, 0), "a", torch.zeros(0))]
    theirs = [ranked._Candidate(0.7, (1, 0), "b", torch.zeros(0))]
    assert ranked._gather(mine) is mine  # not distributed: unchanged

    def all_gather_object(out: list, obj: Any) -> None:
        out[:] = [obj, theirs]

    monkeypatch.setattr(torch.distributed, "is_available", lambda: True)
    monkeypatch.setattr(torch.distributed, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.distributed, "get_world_size", lambda: 2)
    monkeypatch.setattr(torch.distributed, "all_gather_object", all_gather_object)
    assert [c.name for c in ranked._gather(mine)] == ["a", "b"]


def test_format_ranking_and_bad_arguments() -> None:
    text = format_ranking([("bird", 0.95), ("woman_long", 0.9)], [("baby", 0.81), ("woman_long", 0.9)])
    assert text.splitlines() == [
        "rank  best        SSIM-Y  worst       SSIM-Y",
        "1     bird        0.9500  baby        0.8100",
        "2     woman_long  0.9000  woman_long  0.9000",
    ]
    with pytest.raises(ValueError, match="k=0"):
        BestWorstImages(k=0)
    with pytest.raises(ValueError, match="got 'edges'"):
        BestWorstImages(crop="edges")  # type: ignore[arg-type]


def test_trainer_validate_always_ranks(tmp_path: Path, write_images, tiny_trainer) -> None:
    data = SRDataModule(scale=2, val_dir=str(write_images(tmp_path / "val", 2)), patch_size=24)
    ranker = BestWorstImages(k=1, crop_size=16, every_n_epochs=5)
    tiny_trainer(callbacks=[ranker]).validate(SRModule(EDSR(scale=2, n_resblocks=1, n_feats=8)), datamodule=data)
    assert sorted(p.name for p in ranker.last_paths.values()) == ["best_ssim_epoch000.png", "worst_ssim_epoch000.png"]
    ((best, best_score),), ((worst, worst_score),) = ranker.best, ranker.worst
    assert {best, worst} == {"img0", "img1"} and best_score > worst_score
