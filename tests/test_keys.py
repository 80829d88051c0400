"""Storage keys are spelled in tubeflow/keys.py only, and their spelling is stable (histories carry them)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from tests.test_import_floors import LEVEL
from tubeflow.keys import (
    JobKeys,
    ProductionKeys,
    channel_lexicon,
    dead_letter,
    segment_index,
    segments_listing,
    spoken_words_for,
    timing_for_voice,
    upload_key,
)

ROOT = Path(__file__).resolve().parent.parent
KEYS_MODULE = ROOT / "tubeflow" / "keys.py"
# Every room on a floor, the core included (tests/test_import_floors.py lists them).
ROOMS = tuple(LEVEL)
# The store's top-level folders, taken from what tubeflow.keys spells (so a new one is covered).
KEY_ROOTS = frozenset(
    k.split("/", 1)[0]
    for k in (
        ProductionKeys("p").facts(),
        JobKeys("j").output(),
        upload_key("t", "f"),
        dead_letter("2026-01-01", "d"),
        channel_lexicon("c"),
    )
)
# A name that holds a storage key or a key folder: key, audio_key, prefix, lay.prefix, listing_prefix...
KEYLIKE = re.compile(r"(?:^|_)(?:key|prefix)$")
# String methods and path methods that turn one key into another.
EDITS = frozenset({"replace", "removesuffix", "removeprefix", "translate", "with_suffix", "with_name", "with_stem"})
SPLITS = frozenset({"rsplit", "split", "rpartition", "partition"})
QUIET = "# not a storage key"


def _text(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _fragments() -> frozenset[str]:
    """The distinctive pieces of key spelling in tubeflow/keys.py: versioned names and double suffixes.

    ``timing-v``, ``seg-``, ``video-r``, ``.words.json``...: what a hand-made rename of a key writes.
    Plain folder names and bare extensions (``/music/``, ``.json``) are everywhere else too.
    """
    found: set[str] = set()
    for node in ast.walk(ast.parse(KEYS_MODULE.read_text(encoding="utf-8"))):
        if isinstance(node, ast.JoinedStr):
            for part in node.values:
                piece = _text(part)
                if piece and len(piece) > 2 and ("-" in piece or piece.count(".") > 1):
                    found.add(piece.lstrip("/"))
    return frozenset(found)


def _keylike(node: ast.AST) -> bool:
    """Does this expression hold a key (or something cut from one: ``key.rsplit(".", 1)[0]``)?"""
    if isinstance(node, ast.Name):
        return bool(KEYLIKE.search(node.id))
    if isinstance(node, ast.Attribute):
        return bool(KEYLIKE.search(node.attr))
    if isinstance(node, ast.Subscript):
        return _keylike(node.value)
    if isinstance(node, ast.Call):
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name in KEY_FUNCTIONS or KEYLIKE.search(name):  # k.timing(2), self.prefix(), segment_key(...)
            return True
        if name.endswith("Path"):  # PurePosixPath(key)
            return any(_keylike(a) for a in node.args)
        return isinstance(node.func, ast.Attribute) and _keylike(node.func.value)  # key.rsplit(...)
    return False


FRAGMENTS = _fragments()
# What tubeflow.keys answers with a key: its functions and the methods of ProductionKeys and JobKeys.
KEY_FUNCTIONS = frozenset(
    n.name
    for n in ast.walk(ast.parse(KEYS_MODULE.read_text(encoding="utf-8")))
    if isinstance(n, ast.FunctionDef)
    and not n.name.startswith("_")
    and n.returns is not None
    and ast.unparse(n.returns) in {"str", "str | None"}
)


def _literal_parts(node: ast.AST) -> list[str]:
    if isinstance(node, ast.JoinedStr):
        return [t for t in map(_text, node.values) if t is not None]
    t = _text(node)
    return [] if t is None else [t]


def _rooted(node: ast.AST) -> bool:
    """A string (or an f-string) that starts with one of the store's folders: ``"productions/..."``."""
    first = node.values[0] if isinstance(node, ast.JoinedStr) and node.values else node
    t = _text(first)
    return t is not None and "/" in t and t.split("/", 1)[0] in KEY_ROOTS


def _spells_layout(node: ast.AST) -> bool:
    return any(f in part for part in _literal_parts(node) for f in FRAGMENTS)


def _stringy(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or _text(node) is not None


def _cut_at_a_suffix(node: ast.AST) -> bool:
    """``x.rsplit(".", 1)[0]``: a name without its extension, about to get another one."""
    return (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Attribute)
        and (
            node.value.func.attr == "splitext"
            or (node.value.func.attr in SPLITS and any(_text(a) == "." for a in node.value.args))
        )
    )


def _url_or_path(node: ast.JoinedStr) -> bool:
    """A key never starts with "/" nor holds "://": such an f-string is a URL or a file path."""
    parts = _literal_parts(node)
    first = _text(node.values[0]) if node.values else None
    return (first is not None and first.startswith("/")) or any("://" in p for p in parts)


def built_keys(source: str) -> Iterator[tuple[int, str]]:
    """(line, shape) of each storage key assembled in ``source`` instead of asked from tubeflow.keys."""
    tree = ast.parse(source)
    docstrings: set[int] = set()
    inside: set[int] = set()  # the parts of an f-string, judged with their f-string
    pathlib: set[int] = set()  # ``folder / f"{key}.etag"``: a file on this machine, not a key
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and _text(body[0].value) is not None:
            docstrings.add(id(body[0].value))
        if isinstance(node, ast.JoinedStr):
            inside.update(id(v) for v in node.values)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and isinstance(node.right, ast.JoinedStr):
            pathlib.add(id(node.right))
    for node in ast.walk(tree):
        shape = None
        if id(node) in docstrings or id(node) in inside or id(node) in pathlib:
            continue
        if isinstance(node, ast.Constant) and _rooted(node):
            shape = "a key spelled as a literal"
        elif isinstance(node, ast.JoinedStr):
            if _rooted(node):
                shape = "an f-string spelling a key"
            elif not _url_or_path(node):
                for i, part in enumerate(node.values):
                    if isinstance(part, ast.FormattedValue) and _keylike(part.value):
                        after = _text(node.values[i + 1]) if i + 1 < len(node.values) else None
                        before = _text(node.values[i - 1]) if i else None
                        if (after and after[0] in "/.-_") or (before and before.endswith("/")):
                            shape = "an f-string extending a key"
                if shape is None and _spells_layout(node):
                    shape = "an f-string spelling part of the key layout"
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Div):
            sides = (node.left, node.right)
            if any(map(_stringy, sides)) and (any(map(_keylike, sides)) or any(map(_rooted, sides))):
                shape = "a concatenation onto a key"
            elif _cut_at_a_suffix(node.left) and (_literal_parts(node.right) or [""])[0].startswith("."):
                shape = "a suffix swapped by hand"
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and _text(node.left) is not None:
            args = node.right.elts if isinstance(node.right, ast.Tuple) else [node.right]
            if _rooted(node.left) or ("/" in (_text(node.left) or "") and any(map(_keylike, args))):
                shape = "a %-format of a key"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            f, args = node.func, node.args
            template = _text(f.value) or ""
            elements = [e for a in args for e in (a.elts if isinstance(a, ast.List | ast.Tuple) else [a])]
            if f.attr in EDITS and _keylike(f.value):
                shape = f"a key edited with .{f.attr}()"
            elif f.attr == "replace" and any(map(_spells_layout, args)):
                shape = "a key renamed with .replace()"
            elif f.attr == "format" and (_rooted(f.value) or ("/" in template and any(map(_keylike, args)))):
                shape = "a key made with str.format()"
            elif f.attr in {"join", "joinpath"} and any(map(_keylike, elements)):
                shape = f"a key made with {f.attr}()"
            elif f.attr in {"sub", "subn"} and len(args) >= 3 and _keylike(args[2]):
                shape = "a key rewritten with re.sub()"
        if shape and isinstance(node, ast.expr):
            yield node.lineno, shape


def _violations(name: str, source: str) -> list[str]:
    lines = source.splitlines()
    return [
        f"{name}:{n}: {shape}: {lines[n - 1].strip()}" for n, shape in built_keys(source) if QUIET not in lines[n - 1]
    ]


def test_layout_is_stable() -> None:
    k = ProductionKeys("abc123")
    assert [
        k.facts(),
        k.script(2),
        k.script(2, "-edited"),
        k.voice(1),
        k.voice_words(1),
        k.timing(1),
        k.voice_spoken(1),
    ] == [
        "productions/abc123/facts.json",
        "productions/abc123/script-v2.json",
        "productions/abc123/script-v2-edited.json",
        "productions/abc123/voice-v1.wav",
        "productions/abc123/voice-v1.words.json",
        "productions/abc123/timing-v1.json",
        "productions/abc123/voice-v1.spoken.json",
    ]
    assert [k.plan(3), k.plan(3, "-swapped"), k.broll("a.jpg"), k.broll_credits(), k.music("m.mp3")] == [
        "productions/abc123/plan-v3.json",
        "productions/abc123/plan-v3-swapped.json",
        "productions/abc123/broll/a.jpg",
        "productions/abc123/broll/credits.json",
        "productions/abc123/music/m.mp3",
    ]
    assert [k.thumbnail(2, 1), k.words(), k.render_segment("f0", 7), k.video(), k.short(2), k.video(3)] == [
        "productions/abc123/thumbnails/v2-1.jpg",
        "productions/abc123/words.json",
        "productions/abc123/render/f0/seg-0007.mp4",
        "productions/abc123/video.mp4",
        "productions/abc123/shorts/short-2.mp4",
        "productions/abc123/video-r3.mp4",
    ]
    assert k.publish_state("video") == "productions/abc123/youtube/video.json"
    assert k.platform_post_state("tiktok", 2) == "productions/abc123/shorts/short-2.tiktok.json"
    assert k.metadata_preview() == "productions/abc123/metadata-preview.json"
    assert [k.quality_report(), k.quality_report(2), k.short_quality_report(1)] == [
        "productions/abc123/quality.json",
        "productions/abc123/quality-r2.json",
        "productions/abc123/shorts/short-1.quality.json",
    ]
    assert (JobKeys("j1").input("image", ".png"), JobKeys("j1").output()) == ("jobs/j1/image.png", "jobs/j1/output.mp4")
    assert upload_key("tok", "in.mp4") == "uploads/tok/in.mp4"


def test_derived_keys() -> None:
    k = ProductionKeys("p")
    assert timing_for_voice(k.voice(3)) == k.timing(3)
    assert timing_for_voice("uploads/t/voice-v1-final.wav") is None and timing_for_voice("jobs/j/a.wav") is None
    assert spoken_words_for(k.voice(3)) == k.voice_words(3)
    assert [ProductionKeys.timing_version(x) for x in (k.timing(12), k.voice(12), k.facts())] == [12, None, None]
    assert ProductionKeys.written_script(k.script(3, "-edited")) == k.script(3)
    assert ProductionKeys.written_script(k.script(3)) is None
    folder = k.render_segments("f0")
    assert segments_listing(folder) == "productions/p/render/f0/"
    assert [segment_index(k.render_segment("f0", 12)), segment_index(k.video()), segment_index("seg-0001.mp4")] == [
        12,
        None,
        None,
    ]


def test_moved_spellings_are_byte_identical() -> None:
    """What the call sites wrote before the building moved here (a dead letter's spaces, a render folder's listing)."""
    at, delivery = "2026-03-04 05:06:07+00:00", "wf-1 act-2-1-e mail"
    by_hand = f"notifications/dead-letter/{at[:10]}/{delivery}.json".replace(" ", "_")
    assert dead_letter(at, delivery) == by_hand == "notifications/dead-letter/2026-03-04/wf-1_act-2-1-e_mail.json"
    assert (
        dead_letter("2026-03-04T05:06:07+00:00", "d-0-https://h/x")
        == "notifications/dead-letter/2026-03-04/d-0-https://h/x.json"
    )
    folder = ProductionKeys("p").render_segments("abc")
    assert segments_listing(folder) == folder + "/"  # the spelling it replaces


def test_no_key_is_built_by_hand_outside_the_keys_module() -> None:
    paths = [p for room in ROOMS for p in sorted((ROOT / room).rglob("*.py")) if p != KEYS_MODULE]
    assert len(paths) > 100 and any(p.parts[-2] == "tubeflow" for p in paths)  # every room, the core included
    found = [v for p in paths for v in _violations(str(p.relative_to(ROOT)), p.read_text(encoding="utf-8"))]
    assert not found, "build storage keys with tubeflow.keys instead:\n" + "\n".join(found)


PLANTED = {  # one line per shape the check must see
    "key.replace(' ', '_')": "edited with .replace()",
    "audio_key.removesuffix('.wav') + '.json'": "concatenation onto a key",
    "audio_key.rsplit('.', 1)[0] + '.words.json'": "concatenation onto a key",
    "name.rsplit('.', 1)[0] + '.json'": "suffix swapped by hand",
    "os.path.splitext(name)[0] + '.words.json'": "suffix swapped by hand",
    "audio.replace('voice-v', 'timing-v')": "renamed with .replace()",
    "f'productions/{pid}/facts.json'": "f-string spelling a key",
    "'jobs/' + job_id": "concatenation onto a key",
    "KEY = 'uploads/x/in.mp4'": "literal",
    "f'{prefix}/seg-{i:04d}.mp4'": "f-string extending a key",
    "f'{k.prefix}/extra.json'": "f-string extending a key",
    "f'{key}.etag'": "f-string extending a key",
    "f'{folder}/timing-v{n}.json'": "part of the key layout",
    "prefix + '/'": "concatenation onto a key",
    "PurePosixPath(key).with_suffix('.json')": "edited with .with_suffix()",
    "PurePosixPath(key) / 'credits.json'": "concatenation onto a key",
    "'%s/plan.json' % prefix": "%-format",
    "'productions/%s/x' % pid": "%-format",
    "'{}/x.json'.format(prefix)": "str.format()",
    "'/'.join([prefix, 'x.json'])": "join()",
    "posixpath.join(prefix, 'x.json')": "join()",
    "re.sub(r'-v\\d+', '-v2', key)": "re.sub()",
    "f'{k.timing(2)}.bak'": "f-string extending a key",
    "f'{self.prefix()}/x.json'": "f-string extending a key",
    "segment_key(p, 1) + '.part'": "concatenation onto a key",
}
NOT_KEYS = [
    '"""A docstring about productions/<id>/facts.json."""',
    "folder / f'{key}.etag'",  # a local file named after a key
    "f'http://{host}/api/media/{key}'",
    "f'/uploads/{key}'",
    "f'wrote {key} ({n} bytes)'",
    "key.rsplit('/', 1)[-1]",
    "ENV = PREFIX + 'WORKER'",
    "k.timing(2)",
]


def test_the_check_sees_every_shape_of_a_hand_made_key() -> None:
    """Planted violations are flagged with their shape, and what is not a key is left alone."""
    for line, shape in PLANTED.items():
        found = list(built_keys(line))
        assert found and shape in found[0][1], f"not flagged as {shape!r}: {line} ({found})"
    for line in NOT_KEYS:
        assert list(built_keys(line)) == [], f"flagged, though not a storage key: {line}"
    # The shape issue 23 found (a dead letter's spaces replaced at the call site) fails the room scan,
    # and the marker quiets only its own line.
    planted = "def f(key):\n    storage.put_text(key.replace(' ', '_'), '')\n    return f'{key}.x'  " + QUIET + "\n"
    assert _violations("planted.py", planted) == [
        "planted.py:2: a key edited with .replace(): storage.put_text(key.replace(' ', '_'), '')"
    ]
    assert {"timing-v", "voice-v", "seg-", ".words.json", "video-r"} <= FRAGMENTS
