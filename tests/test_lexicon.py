"""The channel lexicon: parsing reviewer edits, storage per channel, respelling and Azure SSML."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import pytest

from activities import lexicon
from activities.tts_azure import AzureTTS
from knowledge.feedback import parse_avoid
from tubeflow.errors import PermanentError
from tubeflow.settings import Settings
from tubeflow.storage import LocalStorage


def test_edits_parse_into_respellings_and_phonemes() -> None:
    got = lexicon.parse_edits({"Rayleigh": "RAY-lee", "Tyndall": "ipa:ˈtɪndəl", "Nguyen": {"phoneme": "wɪn"}})
    assert got[0] == lexicon.Pronunciation("Rayleigh", respelling="RAY-lee")
    assert got[1] == lexicon.Pronunciation("Tyndall", phoneme="ˈtɪndəl", alphabet="ipa")
    assert got[2].phoneme == "wɪn" and got[2].alphabet == "ipa"
    for bad in ({"": "x"}, {"word": ""}, {"word": {"alphabet": "klingon", "phoneme": "x"}}, {"w": 3}, {}):
        with pytest.raises(PermanentError):
            lexicon.parse_edits(bad)


def test_lexicon_is_kept_per_channel_and_merged(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    lexicon.save(storage, "sky", lexicon.parse_edits({"Rayleigh": "RAY-lee"}))
    lexicon.save(storage, "sky", lexicon.parse_edits({"rayleigh": "RAY-lay", "Mie": "MEE"}))
    lex = lexicon.load(storage, "sky")
    assert {k: p.respelling for k, p in lex.items()} == {"rayleigh": "RAY-lay", "mie": "MEE"}
    assert lexicon.load(storage, "other") == {}


def test_respelling_replaces_whole_words_only() -> None:
    lex = {p.word.lower(): p for p in lexicon.parse_edits({"Mie": "MEE", "Rayleigh": "RAY-lee"})}
    text = "Rayleigh and Mie scattering; rayleigh's law, not Miers."
    assert lexicon.respell(text, lex) == "RAY-lee and MEE scattering; RAY-lee's law, not Miers."


def test_azure_ssml_carries_phonemes_and_aliases_and_stays_valid_xml() -> None:
    tts = AzureTTS(Settings(azure_speech_key="k", azure_speech_region="westeurope"), None)
    tts.lexicon = {p.word.lower(): p for p in lexicon.parse_edits({"Tyndall": "ipa:ˈtɪndəl", "Mie": "MEE"})}
    ssml = tts.ssml("Tyndall & Mie <effects>")
    root = ElementTree.fromstring(ssml)  # parses: the text around the tags is escaped
    ns = "{http://www.w3.org/2001/10/synthesis}"
    phoneme = root.find(f".//{ns}phoneme")
    sub = root.find(f".//{ns}sub")
    assert phoneme is not None and phoneme.get("ph") == "ˈtɪndəl" and phoneme.text == "Tyndall"
    assert sub is not None and sub.get("alias") == "MEE" and sub.text == "Mie"
    assert "&amp;" in ssml and "&lt;effects&gt;" in ssml


def test_avoid_phrases() -> None:
    got = parse_avoid(["No more stock clips of planets, please", "avoid black holes and show more light"])
    assert got == ["planets", "black holes"]
    assert parse_avoid(["more planets please"]) == []
