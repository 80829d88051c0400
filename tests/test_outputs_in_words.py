"""The Outputs card speaks in words and units (issue 22, item 6), never in JSON."""

from __future__ import annotations

from api.views import outputs_in_words


def test_render_figures_read_as_words_and_units() -> None:
    rows = dict(
        outputs_in_words(
            {
                "narration_s": 43.985,
                "render": {
                    "duration_s": 37.96666666666667,
                    "segments_total": 8,
                    "segments_rendered": 8,
                    "encoder": "libx264",
                    "render_s": 125.4,
                },  # fmt: skip
                "cost_usd": 0.0123,
                "llm_cost_usd": 0.002,
                "llm_tokens": 12345,
                "published": "outbox/p1",
                "shorts": ["outbox/p1/short-1", "yt:abc"],
                "sources": ["https://a", "https://b"],
                "thumbnail": "productions/p1/thumb-1.png",
            }
        )
    )
    assert rows["Narration"] == "44 s"
    assert rows["Video length"] == "38 s"
    assert rows["Encoder"] == "libx264"
    assert rows["Segments rendered"] == "8 of 8"
    assert rows["Render time"] == "2 min 5 s"
    assert rows["Cost"] == "$0.01 (GPU $0.01, script writer $0.0020)"
    assert rows["Script tokens"] == "12,345"
    assert rows["Published to"] == "outbox/p1"
    assert rows["Short 2"] == "yt:abc"
    assert rows["Sources"].startswith("2 ")
    assert "thumbnail" not in {k.lower() for k in rows}  # shown as the picked image, not a key
    assert not any("{" in v or "[" in v for v in rows.values())


def test_an_unknown_output_is_still_shown() -> None:
    assert ("New figure", "7") in outputs_in_words({"new_figure": 7})
    assert outputs_in_words({}) == []
