"""Choosing the Trainer's precision for the machine: mixed precision where it helps, float32 where it does not.

Mixed precision speeds up training on CUDA GPUs (tensor cores) and halves activation memory. On a CPU, Lightning runs
``precision="16-mixed"`` as bfloat16 autocast, which is many times *slower* than float32 on processors without
bfloat16 instructions (most laptops and cloud CPUs): a validation of one 512x512 image can take minutes. The rule:

=============================================  ==============
machine                                        precision
=============================================  ==============
CUDA GPU with bfloat16 (Ampere, Ada, Hopper)   ``bf16-mixed``
CUDA GPU without it (T4, V100, Colab's free)   ``16-mixed`` (fp16 autocast with a GradScaler)
CPU, Apple MPS, anything else                  ``32``
=============================================  ==============

``sr-lightning fit`` applies it when the config leaves ``trainer.precision`` unset (or ``null``) and prints one line
saying which precision it chose and why; a precision set in the config or on the command line is used as given
(with a warning when it is a mixed precision on a CPU). From Python::

    L.Trainer(precision=auto_precision(), ...)
"""

from __future__ import annotations

import torch
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn

__all__ = ["auto_precision", "report_precision", "resolve_precision"]


def _cuda_wanted(accelerator: str | None) -> bool:
    accelerator = (accelerator or "auto").lower()
    if accelerator in ("cpu", "mps", "tpu", "xla", "hpu"):
        return False
    return torch.cuda.is_available() and accelerator in ("auto", "gpu", "cuda")


def resolve_precision(precision: str | int | None, accelerator: str | None = "auto") -> tuple[str | int, str]:
    """The precision a run should use and why, as ``(precision, reason)``.

    Args:
        precision: what the config asked for; ``None`` or ``"auto"`` applies the rule of this module's table,
            anything else is kept.
        accelerator: the Trainer's accelerator (``"auto"``, ``"cpu"``, ``"gpu"``, ``"cuda"``...).

    Example:
        >>> resolve_precision(None, accelerator="cpu")
        ('32', 'auto: the run is on the CPU, where mixed precision is slower than float32')
        >>> resolve_precision("bf16-mixed", accelerator="cpu")[0]
        'bf16-mixed'
    """
    if precision not in (None, "auto"):
        reason = "as configured"
        if str(precision).endswith("-mixed") and not _cuda_wanted(accelerator):
            reason += (
                "; on a CPU this is bfloat16 autocast, many times slower than float32 without bfloat16 hardware "
                "(leave trainer.precision unset or use 32)"
            )
        return precision, reason
    if not _cuda_wanted(accelerator):
        return "32", "auto: the run is on the CPU, where mixed precision is slower than float32"
    name = torch.cuda.get_device_name()
    if torch.cuda.get_device_capability() >= (8, 0):  # native bfloat16 from Ampere on
        return "bf16-mixed", f"auto: {name} has bfloat16 tensor cores (no loss scaling needed)"
    return "16-mixed", f"auto: {name} has float16 but not bfloat16 tensor cores (fp16 with a GradScaler)"


def auto_precision(accelerator: str | None = "auto", verbose: bool = True) -> str:
    """The precision this machine should train with (see the module's table), for ``L.Trainer(precision=...)``.

    Args:
        accelerator: the accelerator the Trainer will use; ``"auto"`` means CUDA when available.
        verbose: print (on global rank zero) which precision was chosen and why.

    Example:
        >>> auto_precision(accelerator="cpu", verbose=False)
        '32'
    """
    precision, reason = resolve_precision(None, accelerator)
    if verbose:
        rank_zero_info(f"Precision: {precision} ({reason})")
    return str(precision)


def report_precision(precision: str | int | None, accelerator: str | None) -> str | int:
    """Resolve ``precision`` for a CLI run and print one line about it (a warning for mixed precision on a CPU)."""
    chosen, reason = resolve_precision(precision, accelerator)
    if "slower" in reason and precision not in (None, "auto"):
        rank_zero_warn(f"Precision: {chosen} ({reason})")
    else:
        rank_zero_info(f"Precision: {chosen} ({reason})")
    return chosen
