"""Temporal adapters for the main (CPU/IO) queue.

Each method is a thin shell: fetch inputs by key, call a plain module (research, script_writer,
tts, broll, thumbnails, publishers), store outputs by key, and translate errors: a
:class:`~tubeflow.errors.PermanentError` becomes a non-retryable ``ApplicationError`` whose
message names what to fix; anything else is left to the retry policy.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio import activity

from niches.config import NicheConfig, load_niche
from tubeflow import activity_defs as act
from tubeflow.activity_defs import implements
from tubeflow.activity_errors import permanent_errors
from tubeflow.contracts import (
    NOTIFY_ATTEMPTS,
    AnalyticsInput,
    AnalyticsOutcome,
    BrollRequest,
    BrollResult,
    BrollSwap,
    CadencePlan,
    Notification,
    PronunciationEdit,
    PublishRequest,
    PublishResult,
    ResearchRequest,
    ResearchResult,
    ReviewLog,
    ScriptEdit,
    ScriptRequest,
    ScriptResult,
    ShortsInput,
    ShortSpec,
    ShortsPlan,
    StateSnapshot,
    ThumbnailRequest,
    ThumbnailResult,
    VoiceRequest,
    VoiceResult,
)
from tubeflow.db.engine import Database
from tubeflow.errors import PermanentError, TransientError
from tubeflow.keys import ProductionKeys, dead_letter
from tubeflow.render_plan import NarrationTiming, RenderPlan
from tubeflow.script_schema import narration_text, validate_script, word_count
from tubeflow.settings import Settings
from tubeflow.storage import Storage


class MainActivities:
    def __init__(self, settings: Settings, storage: Storage, db: Database) -> None:
        self.settings = settings
        self.storage = storage
        self.db = db

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.research,
            self.write_script,
            self.save_script_edit,
            self.synthesize_voice,
            self.gather_broll,
            self.apply_broll_swap,
            self.make_thumbnails,
            self.publish,
            self.record_snapshot,
            self.record_review,
            self.save_pronunciations,
            self.notify,
            self.build_digest,
            self.plan_shorts,
            self.consolidate_knowledge,
            self.plan_cadence_production,
            self.collect_channel_analytics,
        ]

    def niche(self, name: str) -> NicheConfig:
        return load_niche(name, self.settings)

    async def channel_niche(self, name: str, channel: str = "", production_id: str = "") -> NicheConfig:
        """The niche with the channel's overrides (language, voice, checkpoints) laid over it."""
        from niches.channel_profile import effective_niche
        from tubeflow.db import channel_repo, repo

        niche = self.niche(name)
        try:
            if not channel and production_id:
                channel = (await repo.get_production(self.db, production_id)).channel
            if not channel:
                return niche
            return effective_niche(niche, await channel_repo.channel_settings(self.db, channel))
        except repo.NotFoundError:
            return niche  # started by another client before the database knew it: the niche decides

    def _json(self, key: str) -> Any:
        return json.loads(self.storage.get_text(key))

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
        )
        script = validate_script(script)
        result = self._store_script(req.production_id, req.attempt, script)
        s = self.settings
        result.llm_tokens = writer.usage.total
        result.llm_cost_usd = writer.usage.cost_usd(s.llm_price_in_per_mtok, s.llm_price_out_per_mtok)
        return result

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
        return self._store_script(edit.production_id, edit.attempt, validate_script(edit.script), "-edited")

    # ------------------------------------------------------------------ voice

    @implements(act.SYNTHESIZE_VOICE)
    @permanent_errors
    async def synthesize_voice(self, req: VoiceRequest) -> VoiceResult:
        from activities import lexicon
        from activities.tts import AzureTTS, make_tts

        script = self._json(req.script_key)
        tts = make_tts(self.settings, await self.channel_niche(req.niche, production_id=req.production_id))
        keys = ProductionKeys(req.production_id)
        # The channel's lexicon says how to pronounce names; earlier audio notes (slower, pauses)
        # come first so this production's own feedback wins.
        lex = lexicon.load(self.storage, req.channel) if req.channel else {}
        feedback = (*await self._learned(req.niche, req.channel, "audio"), *req.feedback)
        parts = narration_text(script)
        if isinstance(tts, AzureTTS):
            tts.lexicon = lex
            spoken_parts = parts
        else:
            spoken_parts = [lexicon.respell(p, lex) for p in parts]
        with tempfile.TemporaryDirectory(dir=self._scratch()) as tmp:
            wav = Path(tmp) / "voice.wav"
            timing: NarrationTiming = await asyncio.to_thread(tts.synthesize, spoken_parts, wav, feedback)
            for part, written in zip(timing.parts, parts, strict=False):
                part.text = written  # captions and b-roll read what the script says, not the respelling
            if spoken_parts != parts:  # what the voice actually read, for the reviewer and the tests
                self.storage.put_text(keys.voice_spoken(req.attempt), json.dumps(spoken_parts), "application/json")
            audio_key = self.storage.put_file(keys.voice(req.attempt), wav, "audio/wav")
            from activities.tts import words_path

            spoken = words_path(wav)
            if spoken.is_file():  # providers that report word boundaries (Azure) keep them for captions
                self.storage.put_file(keys.voice_words(req.attempt), spoken, "application/json")
        timing_key = self.storage.put_text(keys.timing(req.attempt), timing.to_json(), "application/json")
        result = VoiceResult(audio_key=audio_key, timing_key=timing_key, duration_s=timing.duration_s)
        if isinstance(tts, AzureTTS):  # billed per character sent; Piper and eSpeak run on the worker
            result.tts_characters = sum(len(p) for p in spoken_parts)
            result.tts_cost_usd = round(result.tts_characters * self.settings.azure_tts_price_per_mchar / 1e6, 6)
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

        script = self._json(req.script_key)
        timing = NarrationTiming.from_json(self.storage.get_text(req.timing_key))
        plan, warnings = await asyncio.to_thread(
            build_plan,
            self.settings,
            self.storage,
            self.niche(req.niche),
            script,
            timing,
            req.production_id,
            req.attempt,
            req.feedback,
            req.channel,
            learned=await self._learned(req.niche, req.channel, "broll"),
        )
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
        from activities.broll import apply_swaps

        plan = RenderPlan.from_json(self.storage.get_text(req.plan_key))
        swapped = apply_swaps(plan, req.swaps)
        return self._store_plan(req.production_id, req.attempt, "-swapped", swapped, swapped.warnings)

    # ------------------------------------------------------------------ thumbnails and publishing

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

        await preview_metadata(self.settings, self.storage, self.db, req.production_id, script)
        return ThumbnailResult(thumbnail_keys=list(keys))

    @implements(act.PUBLISH)
    @permanent_errors
    async def publish(self, req: PublishRequest) -> PublishResult:
        from activities.calendar import publish_on_calendar

        script = self._json(req.script_key)
        result = await publish_on_calendar(self.settings, self.storage, self.db, req, script)
        await self._record_coverage(req, script)
        return result

    async def _record_coverage(self, req: PublishRequest, script: dict[str, Any]) -> None:
        if req.kind != "long":
            return
        from knowledge.coverage import record_coverage

        topic = str(req.extra.get("topic") or script["title"])
        niche = str(req.extra.get("niche") or "")
        await record_coverage(self.db, req.channel, topic, req.production_id, angle=script["title"], niche=niche)

    @implements(act.PLAN_SHORTS)
    @permanent_errors
    async def plan_shorts(self, inp: ShortsInput) -> ShortsPlan:
        """Which ranges become Shorts: the sections the script marked, as many as the niche asks."""
        from tubeflow.render_plan import pick_ranges

        niche = self.niche(inp.niche)
        plan = RenderPlan.from_json(self.storage.get_text(inp.plan_key))
        script = self._json(inp.script_key)
        specs = []
        for i, rng in enumerate(pick_ranges(plan, niche.shorts_count)):
            label = next((p.label for p in plan.parts if p.start <= rng.start < p.end), script["title"])
            specs.append(ShortSpec(index=i, start=rng.start, end=rng.end, title=f"{script['title']}: {label}"[:100]))
        return ShortsPlan(specs=specs, reframe=niche.shorts_reframe)

    # ------------------------------------------------------------------ bookkeeping

    @implements(act.RECORD_SNAPSHOT)
    async def record_snapshot(self, snap: StateSnapshot) -> None:
        from tubeflow.db import repo

        changed = await repo.apply_snapshot(self.db, snap)
        st = snap.status
        if changed and st.state.finished:
            # The outcome teaches the niche (a failure's reason becomes a learning); stored once.
            from knowledge.store import list_outcomes, record_outcome

            if not await list_outcomes(self.db, st.production_id):
                detail = st.error or st.title
                await record_outcome(
                    self.db, st.production_id, st.state, channel=st.channel, niche=st.niche, detail=detail
                )

    @implements(act.CONSOLIDATE_KNOWLEDGE)
    async def consolidate_knowledge(self, _: None = None) -> dict[str, int]:
        """Takes no input (the Schedule starts it without one)."""
        from knowledge.consolidate import consolidate_knowledge

        return await consolidate_knowledge(self.settings, self.db)

    @implements(act.COLLECT_CHANNEL_ANALYTICS)
    @permanent_errors
    async def collect_channel_analytics(self, inp: AnalyticsInput) -> AnalyticsOutcome:
        from dataclasses import asdict

        from activities.youtube_analytics import collect_channel

        got = await collect_channel(self.settings, self.db, inp.channel)
        if got.status == "ok" and got.videos:
            from knowledge.performance import learn_from_channel

            await learn_from_channel(self.db, self.storage, inp.channel)
        return AnalyticsOutcome(**asdict(got))

    @activity.defn(name=act.PLAN_CADENCE_PRODUCTION.name)  # two inputs: declared with more_args
    @permanent_errors
    async def plan_cadence_production(self, channel: str, run_id: str) -> CadencePlan:
        from activities.cadence import plan_production

        return await plan_production(self.settings, self.db, channel, run_id)

    @implements(act.RECORD_REVIEW)
    async def record_review(self, log: ReviewLog) -> None:
        """Store the review; a rejection's feedback also becomes a learning of the channel's niche.

        The learning is filed under the stage it is about (a final rejection sent back to the
        b-roll teaches the b-roll), and that stage reads it in every later production.
        """
        from knowledge.store import add_learning
        from tubeflow.db import repo

        await repo.record_review(self.db, log)
        r = log.record
        if r.approved or not r.feedback.strip() or r.ignored:
            return
        about = r.about
        try:
            row = await repo.get_production(self.db, log.production_id)
        except repo.NotFoundError:
            return
        await add_learning(self.db, row.niche, r.feedback, f"review:{about}", channel=None)

    @implements(act.NOTIFY)
    async def notify(self, n: Notification) -> dict[str, str]:
        """Deliver one event to every target; retried by Temporal, never failing the production.

        Targets delivered by an earlier attempt are listed in the heartbeat and skipped; on the
        last attempt whatever still fails is written as a dead letter and the activity succeeds.
        """
        from activities import notify as nt
        from tubeflow.channel_settings import parse_settings
        from tubeflow.db import repo

        info = activity.info()
        state: dict[str, str] = {}
        if info.heartbeat_details and isinstance(info.heartbeat_details[0], dict):
            state = dict(info.heartbeat_details[0])
        delivery_id = state.pop("_id", "") or nt.new_delivery_id()
        n.link = nt.absolute_link(self.settings, n.link)
        if n.event == "published" and n.production_id and "scheduled_at" not in n.data:
            n.data["scheduled_at"] = await self._scheduled_at(n.production_id)
        failed: dict[str, tuple[str, bytes]] = {}
        try:
            names: list[str] = []
            if n.channel:
                try:
                    names = parse_settings((await repo.get_channel(self.db, n.channel)).settings).webhooks
                except repo.NotFoundError:
                    names = []
            targets = nt.targets_for(self.settings, names)
        except PermanentError as e:  # misconfigured: nothing can deliver it, keep it and say why
            targets = []
            failed["configuration"] = (str(e), b"")
        for t in targets:
            if str(t) in state:
                continue
            out = await asyncio.to_thread(nt.deliver, t, n, self.settings.webhook_secret, delivery_id)
            if out.ok:
                state[str(t)] = out.detail
            else:
                failed[str(t)] = (out.detail, nt.body_for(t, n, delivery_id))
        if self.settings.notify_email and self.settings.smtp_host and "e-mail" not in state:
            out = await asyncio.to_thread(nt.send_email, self.settings, n)
            if out.ok:
                state["e-mail"] = out.detail
            else:
                failed["e-mail"] = (out.detail, nt.text_of(n).encode())
        activity.heartbeat({"_id": delivery_id, **state})
        if failed and info.attempt < NOTIFY_ATTEMPTS and "configuration" not in failed:
            raise TransientError(f"notification {n.event} not delivered to {', '.join(failed)}; retrying")
        for target, (error, body) in failed.items():
            record = {"target": target, "error": error, "event": n.event, "attempts": info.attempt,
                      "notification": asdict(n), "body": body.decode("utf-8", "replace")}  # fmt: skip
            key = dead_letter(n.at or datetime.now(UTC).isoformat(), f"{delivery_id}-{len(state)}-{target}")
            self.storage.put_text(key, json.dumps(record, indent=1, default=str), "application/json")
            activity.logger.warning("notification %s to %s dead-lettered: %s", n.event, target, error)
        return {**state, **{t: f"dead letter: {e}" for t, (e, _) in failed.items()}}

    async def _scheduled_at(self, production_id: str) -> str | None:
        """When the video goes public (the channel's calendar slot), None when it was published at once."""
        from tubeflow.db import channel_repo

        try:
            pub = await channel_repo.get_publication(self.db, production_id)
        except PermanentError:
            return None
        return pub.publish_at.isoformat() if pub.publish_at else None

    @implements(act.BUILD_DIGEST)
    async def build_digest(self, now_iso: str) -> Notification:
        """The daily digest: reviews waiting (and productions needing attention), the last day's
        publications and what they cost (all of it, and the GPU part, which webhooks had first)."""
        from datetime import timedelta

        from tubeflow.db import repo

        now = datetime.fromisoformat(now_iso)
        waiting = await repo.list_productions(self.db, state="waiting", limit=500)
        attention = await repo.list_productions(self.db, state="needs_attention", limit=500)
        done = await repo.list_productions(self.db, state="completed", limit=500)
        since = now - timedelta(days=1)
        recent = [p for p in done if p.finished_at is not None and p.finished_at.astimezone(UTC) >= since]
        cost = round(sum(p.cost_usd or 0.0 for p in recent), 4)
        gpu = round(sum(float((p.outputs or {}).get("cost_usd") or 0.0) for p in recent), 4)
        data = {
            "waiting": [
                {"id": p.id, "channel": p.channel, "topic": p.topic, "checkpoint": p.checkpoint} for p in waiting
            ],
            "needs_attention": [{"id": p.id, "channel": p.channel, "error": p.error} for p in attention],
            "published": [
                {
                    "id": p.id,
                    "channel": p.channel,
                    "title": p.title or p.topic,
                    "location": (p.outputs or {}).get("published"),
                }
                for p in recent
            ],  # fmt: skip
            "cost_usd": cost,  # GPU + LLM + paid voice
            "gpu_cost_usd": gpu,
        }
        summary = (
            f"tubeflow daily: {len(waiting)} waiting for review, {len(attention)} need attention, "
            f"{len(recent)} published in the last day, spent ${cost:.2f} (GPU ${gpu:.2f})"
        )
        return Notification("digest", summary, link="/review", data=data, at=now_iso)

    @implements(act.SAVE_PRONUNCIATIONS)
    @permanent_errors
    async def save_pronunciations(self, edit: PronunciationEdit) -> int:
        """Merge an audio reviewer's pronunciations into the channel's lexicon; returns its size."""
        from activities import lexicon

        return len(lexicon.save(self.storage, edit.channel, lexicon.parse_edits(edit.entries)))
