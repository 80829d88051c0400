"""A channel's niche with the channel's own settings laid over it, and the production input it makes.

One place decides what a channel overrides (language, voice, required checkpoints, Shorts layout,
caption style and position) so the CLI,
the API, the cadence and the activities all start and run a channel's productions the same way.
"""

from __future__ import annotations

from dataclasses import replace

from niches.config import CHECKPOINT_NAMES, NicheConfig
from tubeflow.channel_settings import ChannelSettings
from tubeflow.contracts import ProductionInput
from tubeflow.settings import Settings


def effective_niche(niche: NicheConfig, cs: ChannelSettings) -> NicheConfig:
    changes: dict[str, object] = {}
    if cs.language:
        changes["language"] = cs.language
    if cs.voice:
        changes["voice" if cs.voice.endswith(".onnx") else "azure_voice"] = cs.voice
    if cs.required_checkpoints is not None:
        changes["required_checkpoints"] = [c for c in CHECKPOINT_NAMES if c in cs.required_checkpoints]
    if cs.shorts_layout:
        changes["shorts_reframe"] = cs.shorts_layout
    if cs.caption_style or cs.caption_position:
        changes["caption_style"] = replace(
            niche.caption_style,
            kind=cs.caption_style or niche.caption_style.kind,
            position=cs.caption_position or niche.caption_style.position,
        )
    return replace(niche, **changes) if changes else niche  # type: ignore[arg-type]


def production_input(
    settings: Settings,
    production_id: str,
    channel: str,
    niche: NicheConfig,
    cs: ChannelSettings,
    topic: str,
    make_shorts: bool | None = None,
) -> ProductionInput:
    eff = effective_niche(niche, cs)
    return ProductionInput(
        production_id=production_id,
        channel=channel,
        niche=niche.name,
        topic=topic,
        max_attempts=settings.max_review_attempts,
        make_shorts=(eff.shorts_count > 0) if make_shorts is None else make_shorts,
        auto_approve=eff.auto_approve,
        main_queue=settings.main_queue,
        gpu_queue=settings.gpu_queue,
        language=eff.language,
        render_fanout=settings.render_fanout,
        reminder_hours=settings.review_reminder_hours if cs.review_reminder_hours is None else cs.review_reminder_hours,
        quality=cs.quality_thresholds(),
        quality_gate=settings.quality_gate if cs.quality_gate is None else cs.quality_gate,
    )
