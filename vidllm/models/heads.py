"""What the families vidllm rebuilds from transformers' parts (LongVA, Video-LLaMA) share around their own vision
side: the inner model's video features (time modules applied between the encoder and the projection) and the
scatter of those features into the prompt's placeholders (:class:`VideoInnerModelMixin`), and the
language-modelling head's ``forward``, logits and loss (:class:`VideoLMHeadMixin`)."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn
from transformers.modeling_outputs import CausalLMOutputWithPast

from vidllm.models.components.video_hook import MODULE_NAME


class VideoInnerModelMixin:
    """For the inner model (``language_model`` + a vision side); the family supplies :meth:`frame_tokens`.

    Attributes:
        placeholder_name: Name of the config field holding the placeholder token id.
    """

    placeholder_name: ClassVar[str] = "video_token_id"

    def frame_tokens(self, pixel_values_videos: torch.Tensor, frames: list[int]) -> list[torch.Tensor]:
        """One `(T_i * K, D)` tensor of encoder tokens per video, before the time modules."""
        raise NotImplementedError

    def project_tokens(self, tokens: list[torch.Tensor]) -> list[torch.Tensor]:
        """Tokens after the time modules -> LLM features (default: as they are)."""
        return list(tokens)

    def module_times(self, video_timestamps: torch.Tensor | None) -> torch.Tensor | None:
        """The times the time modules see (default: as given)."""
        return video_timestamps

    def get_input_embeddings(self) -> nn.Module:
        return self.language_model.get_input_embeddings()

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.language_model.set_input_embeddings(value)

    def get_video_features(
        self,
        pixel_values_videos: torch.Tensor,
        video_grid_thw: torch.Tensor,
        video_timestamps: torch.Tensor | None = None,
    ) -> list[torch.Tensor]:
        """Each video's LLM features, after vidllm's time modules (time embedding, slots) when attached.

        Args:
            pixel_values_videos (`torch.FloatTensor` of shape `(N, 3, H, W)`): All frames of the batch's videos.
            video_grid_thw (`torch.LongTensor` of shape `(n_videos, 3)`): Per video ``(frames, rows, columns)``.
            video_timestamps (`torch.FloatTensor` of shape `(N,)`, *optional*): Each frame's time in seconds; needed
                by the time embedding.

        Returns:
            One `(N_i, D)` tensor per video.
        """
        frames = video_grid_thw[:, 0].tolist()
        if sum(frames) != pixel_values_videos.shape[0]:
            raise ValueError(
                f"video_grid_thw counts {sum(frames)} frames but pixel_values_videos holds "
                f"{pixel_values_videos.shape[0]}; build the batch with adapter.build_inputs / collate"
            )
        tokens = self.frame_tokens(pixel_values_videos, frames)
        modules = getattr(self, MODULE_NAME, None)
        if modules is not None and (modules.time_embedding is not None or modules.compressor is not None):
            tokens, _ = modules.transform(tokens, frames, self.module_times(video_timestamps))
        return self.project_tokens(tokens)

    def embed(
        self,
        input_ids: torch.LongTensor | None,
        pixel_values_videos: torch.Tensor | None = None,
        video_grid_thw: torch.Tensor | None = None,
        video_timestamps: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Token embeddings with the videos' features written over the placeholders.

        Args:
            input_ids (`torch.LongTensor` of shape `(batch, L)`): Prompt ids with one placeholder per feature.
            pixel_values_videos: See :meth:`get_video_features`.
            video_grid_thw: See :meth:`get_video_features`.
            video_timestamps: See :meth:`get_video_features`.
            inputs_embeds (`torch.Tensor` of shape `(batch, L, D)`, *optional*): Instead of ``input_ids``' embeddings.

        Returns:
            `torch.Tensor` of shape `(batch, L, D)`.

        Raises:
            ValueError: When the number of placeholders differs from the number of features.
        """
        placeholder = getattr(self.config, self.placeholder_name)
        placeholders = input_ids == placeholder if input_ids is not None and placeholder is not None else None
        if inputs_embeds is None:
            ids = input_ids.masked_fill(placeholders, 0) if placeholders is not None else input_ids
            inputs_embeds = self.get_input_embeddings()(ids)  # placeholder rows are replaced below
        count = int(placeholders.sum()) if placeholders is not None else 0
        if pixel_values_videos is None:
            if count:
                raise ValueError(f"{count} video placeholder tokens but no pixel_values_videos")
            return inputs_embeds
        if placeholders is None:
            raise ValueError("videos need input_ids to find the video placeholders")
        features = torch.cat(self.get_video_features(pixel_values_videos, video_grid_thw, video_timestamps))
        if count != features.shape[0]:
            raise ValueError(
                f"the prompt holds {count} video placeholder tokens but the videos give {features.shape[0]} "
                "features; build the inputs with the adapter (one placeholder per feature)"
            )
        mask = placeholders.unsqueeze(-1).to(inputs_embeds.device)
        return inputs_embeds.masked_scatter(mask, features.to(inputs_embeds.dtype))


class VideoLMHeadMixin:
    """For a ``PreTrainedModel`` with ``self.lm_head`` (an ``nn.Linear``) over ``self.model.language_model``.

    Attributes:
        positions_from_mask: Without ``position_ids``, count positions over the unpadded tokens (left padding then
            gives the same positions as no padding); otherwise the decoder's default.
    """

    lm_head: nn.Linear
    positions_from_mask: ClassVar[bool] = False

    def embed_inputs(self, input_ids, inputs_embeds, pixel_values_videos, video_grid_thw, video_timestamps):
        """The prompt's embeddings with the videos' tokens over the placeholders (``inputs_embeds`` wins)."""
        if inputs_embeds is not None:
            return inputs_embeds
        return self.model.embed(input_ids, pixel_values_videos, video_grid_thw, video_timestamps)

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        past_key_values=None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.LongTensor | None = None,
        pixel_values_videos: torch.Tensor | None = None,
        video_grid_thw: torch.LongTensor | None = None,
        video_timestamps: torch.Tensor | None = None,
        use_cache: bool | None = None,
        logits_to_keep: int | torch.Tensor = 0,
        **kwargs,
    ) -> CausalLMOutputWithPast:
        """Run the model.

        Args:
            input_ids (`torch.LongTensor` of shape `(batch, L)`): Token ids, one placeholder per visual token.
            attention_mask (`torch.Tensor` of shape `(batch, L)`): 0 on padding.
            position_ids (`torch.LongTensor` of shape `(batch, L)`, *optional*): See :attr:`positions_from_mask`.
            past_key_values: Decoding cache.
            inputs_embeds (`torch.Tensor` of shape `(batch, L, D)`, *optional*): Instead of ``input_ids`` (the
                videos already merged, as the inner model's ``embed`` returns them).
            labels (`torch.LongTensor` of shape `(batch, L)`, *optional*): -100 where no loss is taken.
            pixel_values_videos: The videos' frames (see the inner model's ``get_video_features``).
            video_grid_thw: Per video ``(frames, rows, columns)``.
            video_timestamps: Each frame's time in seconds.
            use_cache: Return the decoding cache.
            logits_to_keep: Compute the logits of the last this many positions only (0: all).
            **kwargs: Passed to the decoder (attention options, ``cache_position``...).

        Returns:
            ``loss`` (with labels), ``logits`` `(batch, L, vocab)`, ``past_key_values``.
        """
        num_items_in_batch = kwargs.pop("num_items_in_batch", None)
        inputs_embeds = self.embed_inputs(input_ids, inputs_embeds, pixel_values_videos, video_grid_thw,
                                          video_timestamps)  # fmt: skip
        mask_2d = attention_mask is not None and attention_mask.ndim == 2
        if self.positions_from_mask and position_ids is None and mask_2d and not past_key_values:
            position_ids = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
        out = self.model.language_model(
            inputs_embeds=inputs_embeds,
            attention_mask=attention_mask,
            position_ids=position_ids,
            past_key_values=past_key_values,
            use_cache=use_cache,
            **kwargs,
        )
        return self.lm_output(out.last_hidden_state, out.past_key_values, labels, logits_to_keep, num_items_in_batch)

    def get_output_embeddings(self) -> nn.Module:
        return self.lm_head

    def set_output_embeddings(self, value: nn.Module) -> None:
        self.lm_head = value

    def lm_output(
        self,
        hidden: torch.Tensor,
        past_key_values,
        labels: torch.LongTensor | None = None,
        logits_to_keep: int | torch.Tensor = 0,
        num_items_in_batch=None,
    ) -> CausalLMOutputWithPast:
        """Logits (of the last ``logits_to_keep`` positions; 0: all) and, with ``labels``, the next-token loss
        (-100 is ignored).

        Args:
            hidden (`torch.Tensor` of shape `(batch, L, D)`): The decoder's last hidden states.
            past_key_values: The decoder's cache.
            labels (`torch.LongTensor` of shape `(batch, L)`, *optional*): Targets.
            logits_to_keep: Positions to compute logits for (an int counts from the end; a tensor indexes).
            num_items_in_batch: Token count the loss is normalised by (HF Trainer), else the mean.
        """
        keep = slice(-logits_to_keep, None) if isinstance(logits_to_keep, int) else logits_to_keep
        logits = self.lm_head(hidden[:, keep, :])
        loss = None
        if labels is not None:
            loss = self.loss_function(logits, labels, logits.shape[-1], num_items_in_batch=num_items_in_batch)
        return CausalLMOutputWithPast(loss=loss, logits=logits, past_key_values=past_key_values)
