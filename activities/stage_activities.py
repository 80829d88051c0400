"""Adapters of the production stages: research, script, voice, b-roll, thumbnails, the Shorts plan.

Thin over the plain modules (research, script_writer, tts, lexicon, broll, thumbnails); see
:mod:`activities.adapter_base` for what every room shares.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from temporalio import activity

from activities.adapter_base import MainAdapter
from tubeflow import activity_defs as act
from tubeflow.activity_defs import implements
from tubeflow.activity_errors import permanent_errors
from tubeflow.contracts import (
    BrollRequest,
    BrollResult,
    BrollSwap,
    PronunciationEdit,
    ResearchRequest,
    ResearchResult,
    ScriptEdit,
    ScriptRequest,
    ScriptResult,
    ShortsInput,
    ShortSpec,
    ShortsPlan,
    ThumbnailRequest,
    ThumbnailResult,
    VoiceRequest,
    VoiceResult,
)
from tubeflow.errors import PermanentError
from tubeflow.keys import ProductionKeys
from tubeflow.render_plan import NarrationTiming, RenderPlan
from tubeflow.script_schema import narration_text, validate_script, word_count


class StageActivities(MainAdapter):
    def all(self) -> list[Callable[..., Any]]:
        return [
            self.research,
            self.write_script,
            self.save_script_edit,
            self.synthesize_voice,
            self.save_pronunciations,
            self.gather_broll,
            self.apply_broll_swap,
            self.make_thumbnails,
            self.plan_shorts,
        ]

    # ------------------------------------------------------------------ research and script

    @implements(act.RESEARCH)
    @permanent_errors
    async def research(self, req: ResearchRequest) -> ResearchResult:
        from activities.research import research

        out = await research(self.settings, self.db, self.niche(req.niche), req.channel, req.topic)
        facts = [dict(f) for f in out.facts]
        key = ProductionKeys(req.production_id).facts()
        self.storage.put_text(key, json.dumps(facts, indent=2, ensure_ascii=False), "application/json")
        return ResearchResult(facts_key=key, fact_count=len(facts), sources=list(out.sources))

    @implements(act.WRITE_SCRIPT)
    @permanent_errors
    async def write_script(self, req: ScriptRequest) -> ScriptResult:
        from activities.script_writer import make_writer

        facts = self._json(req.facts_key)
        niche = await self.channel_niche(req.niche, channel=req.channel)
        writer = make_writer(self.settings)
        script = await writer.write(
            topic=req.topic,
            niche=niche,
            facts=facts,
            feedback=req.feedback,
            attempt=req.attempt,
            db=self.db,
            channel=req.channel,
            earlier=self._earlier_scripts(req.production_id, req.attempt) if req.feedback else {},
        )
        script = validate_script(script)
        result = self._store_script(req.production_id, req.attempt, script)
        s = self.settings
        result.llm_tokens = writer.usage.total
        result.llm_cost_usd = writer.usage.cost_usd(s.llm_price_in_per_mtok, s.llm_price_out_per_mtok)
        return result

    def _earlier_scripts(self, production_id: str, attempt: int) -> dict[int, dict[str, Any]]:
        """The scripts reviewers saw before this attempt (the edited one where an approval edited
        it), by attempt: what each note is checked against."""
        keys = ProductionKeys(production_id)
        out: dict[int, dict[str, Any]] = {}
        for n in range(1, attempt):
            for key in (keys.script(n, "-edited"), keys.script(n)):
                if self.storage.exists(key):
                    try:
                        out[n] = validate_script(self._json(key))
                    except Exception:  # an unreadable old attempt: its notes are reported unverified
                        pass
                    break
        return out

    async def _learned(self, niche: str, channel: str, stage: str) -> list[str]:
        """Earlier review notes about this stage, for this channel and its niche (heaviest first)."""
        from knowledge.store import get_learnings

        if self.db is None:
            return []
        return [lr.text for lr in await get_learnings(self.db, niche, channel or None, origins=(f"review:{stage}",))]

    def _store_script(self, production_id: str, attempt: int, script: dict[str, Any], suffix: str = "") -> ScriptResult:
        key = ProductionKeys(production_id).script(attempt, suffix)
        self.storage.put_text(key, json.dumps(script, indent=2, ensure_ascii=False), "application/json")
        return ScriptResult(
            script_key=key, title=script["title"], section_count=len(script["sections"]), word_count=word_count(script)
        )

    @implements(act.SAVE_SCRIPT_EDIT)
    @permanent_errors
    async def save_script_edit(self, edit: ScriptEdit) -> ScriptResult:
        from activities.script_writer import follow_edit

        keys = ProductionKeys(edit.production_id)
        written_key = keys.script(edit.attempt)
        written = self._json(written_key) if self.storage.exists(written_key) else None
        script, _ = follow_edit(validate_script(edit.script), written, await self._broll_keywords(edit.production_id))
        return self._store_script(edit.production_id, edit.attempt, script, "-edited")

    async def _broll_keywords(self, production_id: str) -> list[str]:
        """The production's niche's b-roll keywords (they rank cues); none when the database does not know it."""
        from tubeflow.db import repo

        try:
            niche = (await repo.get_production(self.db, production_id)).niche
            return list(self.niche(niche).broll_keywords)
        except PermanentError:  # not in the database (another client started it), or the niche is gone
            return []

    # ------------------------------------------------------------------ voice

    @implements(act.SYNTHESIZE_VOICE)
    @permanent_errors
    async def synthesize_voice(self, req: VoiceRequest) -> VoiceResult:
        from activities import lexicon
        from activities.progress import StageProgress
        from activities.tts import words_path
        from activities.tts_engines import speak

        script = self._json(req.script_key)
        niche = await self.channel_niche(req.niche, production_id=req.production_id)
        chain = (await self._channel_settings(req.channel)).voice_chain
        keys = ProductionKeys(req.production_id)
        # The channel's lexicon says how to pronounce names; earlier audio notes (slower, pauses)
        # come first so this production's own feedback wins.
        lex = lexicon.load(self.storage, req.channel) if req.channel else {}
        feedback = (*await self._learned(req.niche, req.channel, "audio"), *req.feedback)
        parts = narration_text(script)
        progress = StageProgress("tts", "narration words voiced")
        progress.start(sum(len(p.split()) for p in parts))
        with tempfile.TemporaryDirectory(dir=self._scratch()) as tmp:
            wav = Path(tmp) / "voice.wav"
            # The first voice of the chain that speaks (respelt by the lexicon, or kept for its markup).
            said = await asyncio.to_thread(
                speak, self.settings, niche, parts, lex, wav, feedback, chain,
                lambda i: progress.count(len(parts[i].split())),
            )  # fmt: skip
            await progress.flush()
            tts, spoken_parts, timing = said.provider, said.spoken_parts, said.timing
            for note in said.notes:
                activity.logger.warning("voice: %s", note)
            for part, written in zip(timing.parts, parts, strict=False):
                part.text = written  # captions and b-roll read what the script says, not the respelling
            if spoken_parts != parts:  # what the voice actually read, for the reviewer and the tests
                self.storage.put_text(keys.voice_spoken(req.attempt), json.dumps(spoken_parts), "application/json")
            audio_key = self.storage.put_file(keys.voice(req.attempt), wav, "audio/wav")
            spoken = words_path(wav)
            if spoken.is_file():  # providers that report word boundaries (Azure) keep them for captions
                self.storage.put_file(keys.voice_words(req.attempt), spoken, "application/json")
        timing_key = self.storage.put_text(keys.timing(req.attempt), timing.to_json(), "application/json")
        result = VoiceResult(
            audio_key=audio_key, timing_key=timing_key, duration_s=timing.duration_s, voice=said.voice,
            voice_notes=list(said.notes),
        )  # fmt: skip
        if tts.price_per_mchar is not None:  # billed per character sent; offline engines run on the worker
            result.tts_characters = sum(len(p) for p in spoken_parts)
            result.tts_cost_usd = round(result.tts_characters * tts.price_per_mchar / 1e6, 6)
        return result

    def _scratch(self) -> Path:
        d = self.settings.home / "work"
        d.mkdir(parents=True, exist_ok=True)
        return d

    # ------------------------------------------------------------------ b-roll

    @implements(act.GATHER_BROLL)
    @permanent_errors
    async def gather_broll(self, req: BrollRequest) -> BrollResult:
        from activities.broll import build_plan
        from activities.progress import StageProgress

        progress = StageProgress("broll", "pictures found")

        script = self._json(req.script_key)
        timing = NarrationTiming.from_json(self.storage.get_text(req.timing_key))
        pace = await self._channel_settings(req.channel)
        plan, warnings = await asyncio.to_thread(
            build_plan,
            self.settings,
            self.storage,
            await self.channel_niche(req.niche, channel=req.channel),  # its caption style and position
            script,
            timing,
            req.production_id,
            req.attempt,
            req.feedback,
            req.channel,
            learned=await self._learned(req.niche, req.channel, "broll"),
            progress=progress,
            max_shot_s=pace.max_shot_s,
            shorts_max_shot_s=pace.shorts_max_shot_s,
        )
        await progress.flush()
        for w in warnings:
            activity.logger.warning("b-roll: %s", w)
        return self._store_plan(req.production_id, req.attempt, "", plan, warnings)

    def _store_plan(
        self, production_id: str, attempt: int, suffix: str, plan: RenderPlan, warnings: list[str]
    ) -> BrollResult:
        key = self.storage.put_text(
            ProductionKeys(production_id).plan(attempt, suffix), plan.to_json(), "application/json"
        )
        items = plan.all_items()
        generated = sum(1 for m in items if m.source == "generated")
        return BrollResult(plan_key=key, item_count=len(items), generated_count=generated, warnings=list(warnings))

    @implements(act.APPLY_BROLL_SWAP)
    @permanent_errors
    async def apply_broll_swap(self, req: BrollSwap) -> BrollResult:
        from activities.broll_edits import apply_edits

        plan = RenderPlan.from_json(self.storage.get_text(req.plan_key))
        edited = await asyncio.to_thread(apply_edits, self.storage, req.production_id, plan, req.parts, req.swaps)
        if req.revision:  # saved before approval: its own plan, so every preview keeps the plan it showed
            key = self.storage.put_text(
                ProductionKeys(req.production_id).edited_plan(req.attempt, req.revision),
                edited.to_json(),
                "application/json",
            )
            items = edited.all_items()
            generated = sum(1 for m in items if m.source == "generated")
            return BrollResult(key, len(items), generated, list(edited.warnings))
        return self._store_plan(req.production_id, req.attempt, "-swapped", edited, edited.warnings)

    # ------------------------------------------------------------------ thumbnails and the Shorts plan

    @implements(act.MAKE_THUMBNAILS)
    @permanent_errors
    async def make_thumbnails(self, req: ThumbnailRequest) -> ThumbnailResult:
        from activities.thumbnails import make_thumbnails

        script = self._json(req.script_key)
        plan = RenderPlan.from_json(self.storage.get_text(req.plan_key))
        keys = await asyncio.to_thread(
            make_thumbnails,
            self.settings,
            self.storage,
            self.niche(req.niche),
            script,
            plan,
            req.production_id,
            req.attempt,
            [*await self._learned(req.niche, "", "thumbnail"), *req.feedback],
        )
        from activities.calendar import preview_metadata

        await preview_metadata(self.settings, self.storage, self.db, req.production_id, script, req.script_key)
        return ThumbnailResult(thumbnail_keys=list(keys))

    @implements(act.PLAN_SHORTS)
    @permanent_errors
    async def plan_shorts(self, inp: ShortsInput) -> ShortsPlan:
        """Which ranges become Shorts: the sections the script marked, as many as the niche asks."""
        from tubeflow.render_plan import pick_ranges, shorts_reframe

        niche = await self.channel_niche(inp.niche, channel=inp.channel)  # the channel's Shorts layout
        plan = RenderPlan.from_json(self.storage.get_text(inp.plan_key))
        script = self._json(inp.script_key)
        specs = []
        for i, rng in enumerate(pick_ranges(plan, niche.shorts_count)):
            label = next((p.label for p in plan.parts if p.start <= rng.start < p.end), script["title"])
            specs.append(ShortSpec(index=i, start=rng.start, end=rng.end, title=f"{script['title']}: {label}"[:100]))
        loop = (await self._channel_settings(inp.channel)).shorts_loop
        return ShortsPlan(specs=specs, reframe=shorts_reframe(niche.shorts_reframe, loop))

    @implements(act.SAVE_PRONUNCIATIONS)
    @permanent_errors
    async def save_pronunciations(self, edit: PronunciationEdit) -> int:
        """Merge an audio reviewer's pronunciations into the channel's lexicon; returns its size."""
        from activities import lexicon

        return len(lexicon.save(self.storage, edit.channel, lexicon.parse_edits(edit.entries)))
