"""How many attention heads a checkpoint's model has, when the file does not say.

Official and timm `.pth` files store the weights only; the head count lived in
the code that built the model. A wrong guess loads without any error and
computes something else, so the count is never guessed: it is the caller's
(`heads=`), else the one the file's config stores, else the released model of
that width (the table below), else a CheckpointError asking for it.
"""
from .errors import CheckpointError

# The released configurations, by token width: ViT-Ti/S (Touvron et al. 2021,
# DeiT, table 1), ViT-B/L/H (Dosovitskiy et al. 2021, table 1), ViT-g (Zhai et
# al. 2022, "Scaling Vision Transformers"; VideoMAE V2's giant encoder), timm
# `vision_transformer.py`; the MAE decoder (facebookresearch/mae
# `models_mae.py`: 512 wide, 16 heads, for every encoder size); the VideoMAE
# decoders (MCG-NJU/VideoMAE `modeling_pretrain.py`: S 192 / 3, B 384 / 6,
# L 512 / 8, H 640 / 8). Width // 64 is right for most of them but not for
# ViT-H (1280 = 16 heads of 80) or ViT-g (1408 = 16 of 88).
RELEASED_HEADS = {
    "encoder": {192: 3, 384: 6, 768: 12, 1024: 16, 1280: 16, 1408: 16},
    "MAE decoder": {512: 16},
    "VideoMAE decoder": {192: 3, 384: 6, 512: 8, 640: 8},
}


def released_heads(width: int, part: str, source, keyword: str = "heads") -> int:
    """The head count of the released model whose `part` ('encoder', 'MAE
    decoder', 'VideoMAE decoder') is `width` wide; a CheckpointError asking for
    `keyword=N` when no released model has that width."""
    table = RELEASED_HEADS[part]
    if width in table:
        return table[width]
    known = ", ".join(f"{w} -> {h}" for w, h in table.items())
    example = f" (e.g. {keyword}={width // 64} for heads of 64)" if width % 64 == 0 else ""
    raise CheckpointError(
        f"{source}: the file does not store how many attention heads its {part} has, and its width {width} is "
        f"not one of the released models' (width -> heads: {known}). Pass {keyword}=N, with N dividing "
        f"{width}{example}; a transformers directory's config.json records it."
    )


def resolve_heads(width: int, part: str, source, given: int | None = None, stored: int | None = None,
                  keyword: str = "heads") -> int:
    """The head count of a checkpoint's `part`, in the one order every converter uses:
    `given` (the caller's `heads=` / `decoder_heads=`), else `stored` (the file's
    config), else the released model of that width, else a CheckpointError."""
    return given or stored or released_heads(width, part, source, keyword)
