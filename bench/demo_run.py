"""The demo production the demo benches measure (bench/pacing.py, bench/quality.py): produced
once in a fresh TUBEFLOW_HOME on the bench's own ports, or read from a home where ``tubeflow demo``
already ran (``--home``), and its files found from that home's ``demo-report.json``."""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tubeflow.quality_report import TextLayout
from tubeflow.render_plan import RenderPlan


def produce(home: Path, temporal_port: int, ui_port: int, api_port: int) -> None:
    """``tubeflow demo --yes`` in ``home``.  The ports go through the environment, not
    ``Settings.with_overrides``, so the workers the demo's dev stack spawns use them too."""
    from rich.console import Console

    from cli.demo import run_demo
    from tubeflow.settings import Settings

    os.environ.update(
        TUBEFLOW_HOME=str(home), TUBEFLOW_TEMPORAL_ADDRESS=f"localhost:{temporal_port}",
        TUBEFLOW_TEMPORAL_UI_PORT=str(ui_port), TUBEFLOW_API_PORT=str(api_port),
    )  # fmt: skip
    run_demo(Settings.from_env(), yes=True, topic="Why is the sky blue?", console=Console(stderr=True))


def demo_arguments(description: str) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--home", type=Path, help="a TUBEFLOW_HOME where `tubeflow demo` already ran")
    ap.add_argument("--out", type=Path, help="also write the JSON here")
    return ap


def demo_home(home: Path | None, tmp: str, ports: tuple[int, int, int]) -> tuple[Path, float | None]:
    """The home to measure, and how long producing it took (None: it was given)."""
    if home is not None:
        return home, None
    t0 = time.perf_counter()
    produce(Path(tmp), *ports)
    return Path(tmp), round(time.perf_counter() - t0, 1)


@dataclass(frozen=True)
class DemoFiles:
    report: dict[str, Any]  # demo-report.json
    production_id: str
    plan: RenderPlan
    video: Path  # the long-form
    shorts: list[Path]  # short-0.mp4, short-1.mp4, ... in order


def demo_files(home: Path) -> DemoFiles:
    report = json.loads((home / "demo-report.json").read_text())
    storage = home / "storage"
    artifacts = report["status"]["artifacts"]
    pid = report["production_id"]
    return DemoFiles(
        report=report,
        production_id=pid,
        plan=RenderPlan.from_json((storage / artifacts["plan"]).read_text()),
        video=storage / artifacts["video"],
        shorts=sorted((storage / "productions" / pid / "shorts").glob("short-*.mp4")),
    )


def print_result(result: dict[str, Any], out: Path | None) -> None:
    text = json.dumps(result, indent=1, ensure_ascii=False)
    if out:
        out.write_text(text + "\n")
    print(text)


def text_layout(video: Path) -> TextLayout | None:
    """The boxes the render drew on ``video`` (``short-0.mp4`` -> ``short-0.text.json``), as the
    production's own quality report reads them: where the captions are masked, and what the caption
    overlap and safe-zone figures count.  None for a video rendered before the render wrote them."""
    path = video.with_suffix(".text.json")
    return TextLayout.from_json(path.read_text()) if path.is_file() else None
