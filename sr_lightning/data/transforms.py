"""The geometric transforms of the library: the 8 flips and 90-degree rotations of an image (the dihedral group).

Training draws one at random per patch (on LR and HR alike for paired data), self-ensemble averages a model over all
eight, and upscaling turns a photo upright by its EXIF orientation with one of them.
"""

from __future__ import annotations

from torch import Tensor

__all__ = ["dihedral"]


def dihedral(img: Tensor, k: int, inverse: bool = False) -> Tensor:
    """One of the 8 flips/rotations by 90 degrees of a (..., H, W) image: bit 0 h-flip, bit 1 v-flip, bit 2 transpose.

    ``inverse=True`` undoes transform ``k``: ``dihedral(dihedral(x, k), k, inverse=True)`` is ``x``.

    Example:
        >>> import torch
        >>> x = torch.arange(6.0).view(1, 2, 3)
        >>> all(torch.equal(dihedral(dihedral(x, k), k, inverse=True), x) for k in range(8))
        True
    """
    if not 0 <= k < 8:
        raise ValueError(f"dihedral transform k must be in 0..7, got {k}.")
    if inverse and k & 4:
        img = img.transpose(-2, -1)
    if k & 1:
        img = img.flip(-1)
    if k & 2:
        img = img.flip(-2)
    if not inverse and k & 4:
        img = img.transpose(-2, -1)
    return img
