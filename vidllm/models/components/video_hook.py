"""Where vidllm attaches to a Hugging Face Qwen-VL model: two seams of the inner ``*VLModel``, no copied forward.

* ``get_video_features`` -- its output (one tensor of merged visual tokens per video) gets each group's time
  embedding, then is compressed into slots, before the model scatters it into the placeholder positions. Frame
  times arrive as the ``video_timestamps`` keyword of ``forward`` (transformers routes ``video_*`` keywords to the
  video encoder): a float tensor of shape ``(total groups,)``, the videos' group times concatenated.
* ``get_rope_index`` -- positions follow the prompt layout (:mod:`~vidllm.models.components.positions`), for
  training forward and for ``generate`` alike.

The added modules (:class:`VideoTimeModules`) are registered on the inner model as ``vidllm``, so ``.to()``,
``.parameters()`` and distributed wrappers see them; :func:`vidllm_state_dict` holds what ``adapter.save`` writes.
"""

from __future__ import annotations

import types

import torch
from torch import nn

from vidllm.models.components.layout import Segment, VideoLayout
from vidllm.models.components.positions import IMAGE, VIDEO, mrope_position_ids
from vidllm.models.components.slots import SlotCompressor, compress_video, pool_like
from vidllm.models.components.time_embedding import TimeEmbedding, add_time_embedding

MODULE_NAME = "vidllm"


class VideoTimeModules(nn.Module):
    """The trainable modules vidllm adds between the vision encoder and the LLM.

    Args:
        layout: Prompt layout of videos.
        time_embedding: Added to each group's tokens, or ``None``.
        compressor: Slot compressor, or ``None``.
        compress_per: ``video`` or ``frame``.
        absolute_time: Whether ``get_rope_index`` spaces temporal positions by ``second_per_grid_ts``
            (Qwen2.5-VL).
    """

    def __init__(
        self,
        layout: VideoLayout,
        time_embedding: TimeEmbedding | None = None,
        compressor: SlotCompressor | None = None,
        compress_per: str = "video",
        absolute_time: bool = False,
    ):
        super().__init__()
        self.layout = layout
        self.time_embedding = time_embedding
        self.compressor = compressor
        self.compress_per = compress_per
        self.absolute_time = absolute_time

    def transform(self, features: list[torch.Tensor], groups: list[int], times: torch.Tensor | None, extra=None):
        """Time-embed and compress each video's tokens.

        Args:
            features: One `(groups_i * tokens_per_group_i, dim)` tensor per video.
            groups: Temporal groups of each video.
            times (`torch.FloatTensor` of shape `(sum(groups),)`, *optional*): Group times, videos concatenated.
            extra: Optional lists (one per layer) of per-video tensors aligned with ``features`` (Qwen3-VL's
                DeepStack features), pooled with the same weights.

        Returns:
            ``(features, extra)`` transformed.
        """
        if self.time_embedding is not None:
            if times is None:
                raise ValueError(
                    "the time embedding needs each frame group's time: pass video_timestamps (seconds, one per "
                    "temporal group) to forward, as adapter.build_inputs does"
                )
            if times.shape[0] != sum(groups):
                raise ValueError(
                    f"video_timestamps has {times.shape[0]} times for {sum(groups)} frame groups; "
                    "build the batch with adapter.build_inputs / collate"
                )
            per_video = torch.split(times, groups)
            features = [add_time_embedding(f, t, self.time_embedding) for f, t in zip(features, per_video)]
        if self.compressor is not None:
            compressed, pooled_extra = [], [[] for _ in extra or []]
            for i, (f, g) in enumerate(zip(features, groups)):
                slots, weights = compress_video(f, g, self.compressor, self.compress_per)
                compressed.append(slots)
                for layer, per_layer in enumerate(extra or []):
                    pooled_extra[layer].append(pool_like(per_layer[i], weights))
            features = compressed
            extra = [tuple(x) for x in pooled_extra] if extra is not None else None
        return features, extra


def _video_features(self, pixel_values_videos, video_grid_thw=None, video_timestamps=None, **kwargs):
    """``get_video_features`` of the stock model, then the time components (bound to the inner model)."""
    output = type(self).get_video_features(self, pixel_values_videos, video_grid_thw, **kwargs)
    modules: VideoTimeModules = getattr(self, MODULE_NAME)
    if modules.time_embedding is None and modules.compressor is None:
        return output
    groups = video_grid_thw[:, 0].tolist()
    extra = getattr(output, "deepstack_features", None)
    features, extra = modules.transform(list(output.pooler_output), groups, video_timestamps, extra)
    output.pooler_output = tuple(features)
    if extra is not None:
        output.deepstack_features = extra
    return output


def _segments(self, image_grid_thw, video_grid_thw, second_per_grid_ts) -> tuple[list[Segment], list[Segment]]:
    merge = self.config.vision_config.spatial_merge_size
    modules: VideoTimeModules = getattr(self, MODULE_NAME)
    images = []
    for t, h, w in image_grid_thw.tolist() if image_grid_thw is not None else []:
        images.append(Segment(t, h // merge, w // merge))
    videos = []
    rows = video_grid_thw.tolist() if video_grid_thw is not None else []
    if modules.absolute_time and second_per_grid_ts is not None:
        seconds = torch.as_tensor(second_per_grid_ts).reshape(-1).tolist()
        if len(seconds) != len(rows):
            raise ValueError(f"second_per_grid_ts has {len(seconds)} values for {len(rows)} videos; one per video")
    else:
        seconds = [None] * len(rows)
    tokens_per_second = getattr(self.config.vision_config, "tokens_per_second", 1)
    for (t, h, w), spg in zip(rows, seconds):
        interval, scale = (spg, tokens_per_second) if spg is not None else (1.0, 1.0)
        videos.extend(modules.layout.segments(t, h // merge, w // merge, interval, scale))
    return images, videos


def _rope_index(
    self,
    input_ids,
    mm_token_type_ids=None,
    image_grid_thw=None,
    video_grid_thw=None,
    attention_mask=None,
    second_per_grid_ts=None,
    **kwargs,
):
    """``get_rope_index`` following the vidllm layout (bound to the inner model)."""
    if mm_token_type_ids is None:
        mm_token_type_ids = torch.zeros_like(input_ids, dtype=torch.int)
        mm_token_type_ids[input_ids == self.config.image_token_id] = IMAGE
        mm_token_type_ids[input_ids == self.config.video_token_id] = VIDEO
    if attention_mask is not None and attention_mask.ndim != 2:
        attention_mask = None  # a prepared 4-D mask: no padding information to use
    images, videos = _segments(self, image_grid_thw, video_grid_thw, second_per_grid_ts)
    return mrope_position_ids(mm_token_type_ids, images, videos, attention_mask)


def register(hf_model, modules: VideoTimeModules) -> VideoTimeModules:
    """Register ``modules`` on the inner model (``hf_model.model``) as ``vidllm``, moved to the model's device and
    dtype. Families whose model class calls the modules itself (LongVA, Video-LLaMA) need nothing more.

    Returns:
        The registered modules.
    """
    param = next(hf_model.parameters())
    modules.to(device=param.device, dtype=param.dtype)
    setattr(hf_model.model, MODULE_NAME, modules)
    return modules


def attach(hf_model, modules: VideoTimeModules) -> VideoTimeModules:
    """Register ``modules`` on the inner model of ``hf_model`` and route its two seams through them.

    Args:
        hf_model: A ``Qwen2VLForConditionalGeneration`` / ``Qwen2_5_VL...`` / ``Qwen3VL...`` (not peft-wrapped).
        modules: The modules to add; moved to the model's device and dtype.

    Returns:
        The registered modules.
    """
    register(hf_model, modules)
    inner = hf_model.model
    inner.get_video_features = types.MethodType(_video_features, inner)
    inner.get_rope_index = types.MethodType(_rope_index, inner)
    return modules


def attached(hf_model) -> VideoTimeModules:
    """The modules :func:`attach` registered on ``hf_model`` (peft-wrapped or not)."""
    base = hf_model.get_base_model() if hasattr(hf_model, "get_base_model") else hf_model
    modules = getattr(base.model, MODULE_NAME, None)
    if modules is None:
        raise ValueError("this model has no vidllm modules; load it through a vidllm adapter")
    return modules


def vidllm_state_dict(hf_model) -> dict[str, torch.Tensor]:
    """State of the added modules (time embedding, slots), for ``adapter.save``."""
    return {k: v.detach().cpu() for k, v in attached(hf_model).state_dict().items()}
