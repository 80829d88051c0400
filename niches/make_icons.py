"""Draw the niches' icon sets: white line icons on transparency, with an index of what each shows.

Generated stills put the icon that best fits the part (ranked by meaning, like b-roll) on the
title card, so a channel without any media still gets pictures about what is said.  A channel can
replace or add PNGs in ``niches/<niche>/icons/`` and describe them in ``icons/index.yaml``.
Deterministic: ``python niches/make_icons.py`` redraws the same files.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent
S = 512  # drawn at 2x, saved at 256 px for smooth edges
W = 22  # line width at 2x
WHITE = (255, 255, 255, 255)

Draw = Callable[[ImageDraw.ImageDraw], None]


def _sun(d: ImageDraw.ImageDraw) -> None:
    d.ellipse((166, 166, 346, 346), outline=WHITE, width=W)
    for k in range(12):
        a = k * math.pi / 6
        d.line((256 + 130 * math.cos(a), 256 + 130 * math.sin(a), 256 + 200 * math.cos(a), 256 + 200 * math.sin(a)),
               fill=WHITE, width=W)  # fmt: skip


def _prism(d: ImageDraw.ImageDraw) -> None:
    d.polygon((256, 96, 420, 380, 92, 380), outline=WHITE, width=W)
    d.line((30, 300, 200, 250), fill=WHITE, width=W)
    for k, y in enumerate((200, 240, 280, 320, 360)):
        d.line((300, 250, 490, y + 10 * k), fill=WHITE, width=W // 2)


def _atom(d: ImageDraw.ImageDraw) -> None:
    for angle in (0, 60, 120):
        layer = Image.new("L", (S, S), 0)
        ImageDraw.Draw(layer).ellipse((56, 186, 456, 326), outline=255, width=W)
        d.bitmap((0, 0), layer.rotate(angle, resample=Image.Resampling.BICUBIC), fill=WHITE)
    d.ellipse((226, 226, 286, 286), fill=WHITE)


def _planet(d: ImageDraw.ImageDraw) -> None:
    d.ellipse((146, 146, 366, 366), outline=WHITE, width=W)
    d.arc((40, 210, 472, 330), 160, 380, fill=WHITE, width=W)


def _cloud(d: ImageDraw.ImageDraw) -> None:
    for box in ((90, 230, 250, 390), (180, 150, 360, 330), (290, 220, 430, 360)):
        d.ellipse(box, outline=WHITE, width=W)
    d.line((140, 390, 380, 390), fill=WHITE, width=W)


def _drop(d: ImageDraw.ImageDraw) -> None:
    d.polygon((256, 70, 360, 260, 152, 260), fill=WHITE)
    d.ellipse((146, 170, 366, 420), fill=WHITE)
    d.ellipse((186, 210, 326, 380), fill=(0, 0, 0, 0))


def _black_hole(d: ImageDraw.ImageDraw) -> None:
    for r, w in ((210, W // 2), (160, W), (110, W)):
        d.ellipse((256 - r, 256 - r * 0.45, 256 + r, 256 + r * 0.45), outline=WHITE, width=w)
    d.ellipse((196, 196, 316, 316), fill=WHITE)
    d.ellipse((216, 216, 296, 296), fill=(0, 0, 0, 0))


def _coins(d: ImageDraw.ImageDraw) -> None:
    for k in range(4):
        y = 340 - k * 62
        d.ellipse((116, y - 50, 396, y + 50), outline=WHITE, width=W)
    d.line((116, 340, 116, 154), fill=WHITE, width=W)
    d.line((396, 340, 396, 154), fill=WHITE, width=W)


def _chart(d: ImageDraw.ImageDraw) -> None:
    d.line((80, 90, 80, 430, 440, 430), fill=WHITE, width=W, joint="curve")
    for k, h in enumerate((90, 150, 210, 290)):
        x = 130 + k * 75
        d.rectangle((x, 410 - h, x + 45, 410), fill=WHITE)
    d.line((120, 280, 210, 220, 290, 240, 420, 110), fill=WHITE, width=W, joint="curve")
    d.polygon((420, 110, 360, 115, 405, 160), fill=WHITE)


def _percent(d: ImageDraw.ImageDraw) -> None:
    d.ellipse((100, 100, 220, 220), outline=WHITE, width=W)
    d.ellipse((292, 292, 412, 412), outline=WHITE, width=W)
    d.line((400, 100, 112, 412), fill=WHITE, width=W)


def _calculator(d: ImageDraw.ImageDraw) -> None:
    d.rounded_rectangle((126, 66, 386, 446), radius=30, outline=WHITE, width=W)
    d.rectangle((166, 106, 346, 176), outline=WHITE, width=W // 2)
    for row in range(3):
        for col in range(3):
            x, y = 176 + col * 60, 216 + row * 70
            d.rectangle((x, y, x + 40, y + 40), fill=WHITE)


def _shield(d: ImageDraw.ImageDraw) -> None:
    d.line((256, 66, 420, 130, 400, 300, 256, 446, 112, 300, 92, 130, 256, 66), fill=WHITE, width=W, joint="curve")
    d.line((180, 260, 240, 320, 340, 200), fill=WHITE, width=W, joint="curve")


def _calendar(d: ImageDraw.ImageDraw) -> None:
    d.rounded_rectangle((86, 110, 426, 430), radius=24, outline=WHITE, width=W)
    d.line((86, 190, 426, 190), fill=WHITE, width=W)
    for x in (170, 342):
        d.line((x, 70, x, 140), fill=WHITE, width=W)
    for row in range(3):
        for col in range(4):
            x, y = 126 + col * 72, 220 + row * 65
            d.rectangle((x, y, x + 36, y + 36), fill=WHITE)


def _bank(d: ImageDraw.ImageDraw) -> None:
    d.polygon((256, 60, 450, 170, 62, 170), outline=WHITE, width=W)
    for x in (110, 200, 290, 380):
        d.rectangle((x, 200, x + 24, 380), fill=WHITE)
    d.rectangle((70, 400, 442, 430), fill=WHITE)


def _wallet(d: ImageDraw.ImageDraw) -> None:
    d.rounded_rectangle((76, 140, 436, 400), radius=30, outline=WHITE, width=W)
    d.rounded_rectangle((300, 220, 460, 320), radius=20, outline=WHITE, width=W)
    d.ellipse((340, 255, 370, 285), fill=WHITE)


def _scroll(d: ImageDraw.ImageDraw) -> None:
    d.rectangle((136, 100, 376, 412), outline=WHITE, width=W)
    d.ellipse((96, 70, 176, 130), outline=WHITE, width=W)
    d.ellipse((336, 382, 416, 442), outline=WHITE, width=W)
    for y in (170, 230, 290, 350):
        d.line((180, y, 332, y), fill=WHITE, width=W // 2)


def _hourglass(d: ImageDraw.ImageDraw) -> None:
    d.line((120, 70, 392, 70), fill=WHITE, width=W)
    d.line((120, 442, 392, 442), fill=WHITE, width=W)
    d.line((150, 70, 256, 256, 150, 442), fill=WHITE, width=W, joint="curve")
    d.line((362, 70, 256, 256, 362, 442), fill=WHITE, width=W, joint="curve")
    d.polygon((256, 330, 330, 430, 182, 430), fill=WHITE)


def _map_pin(d: ImageDraw.ImageDraw) -> None:
    d.ellipse((146, 60, 366, 280), outline=WHITE, width=W)
    d.line((160, 220, 256, 440, 352, 220), fill=WHITE, width=W, joint="curve")
    d.ellipse((221, 135, 291, 205), fill=WHITE)


def _crown(d: ImageDraw.ImageDraw) -> None:
    d.line((90, 380, 70, 160, 180, 260, 256, 110, 332, 260, 442, 160, 422, 380, 90, 380), fill=WHITE, width=W,
           joint="curve")  # fmt: skip
    d.line((90, 430, 422, 430), fill=WHITE, width=W)


def _book(d: ImageDraw.ImageDraw) -> None:
    d.line((256, 130, 256, 420), fill=WHITE, width=W)
    d.line((256, 130, 70, 100, 70, 390, 256, 420, 442, 390, 442, 100, 256, 130), fill=WHITE, width=W, joint="curve")
    for y in (180, 240, 300):
        d.line((110, y - 12, 220, y), fill=WHITE, width=W // 2)
        d.line((292, y, 402, y - 12), fill=WHITE, width=W // 2)


ICONS: dict[str, dict[str, tuple[Draw, str]]] = {
    "science": {
        "sun": (_sun, "the Sun, sunlight, daylight, stars, heat, solar energy"),
        "prism": (_prism, "a prism splitting white light into a rainbow spectrum of colours; refraction, optics"),
        "atom": (_atom, "an atom with electrons; molecules, particles, chemistry, physics"),
        "planet": (_planet, "a planet with a ring; Earth, orbit, solar system, astronomy, seasons"),
        "cloud": (_cloud, "a cloud; sky, weather, atmosphere, air"),
        "drop": (_drop, "a drop of water; rain, raindrops, water, ocean"),
        "black-hole": (_black_hole, "a black hole with an accretion disc; gravity, collapse of a star, space"),
    },
    "financas": {
        "moedas": (_coins, "pilha de moedas; dinheiro, poupança, juros, guardar; coins, money, savings"),
        "grafico": (_chart, "gráfico subindo; investimento, rendimento, crescimento, juros compostos; growth chart"),
        "porcentagem": (_percent, "símbolo de porcentagem; taxa de juros, inflação, percentual; percent, rate"),
        "calculadora": (_calculator, "calculadora; contas, orçamento, cálculo; calculator, budget"),
        "escudo": (_shield, "escudo; reserva de emergência, proteção, segurança; safety net, protection"),
        "calendario": (_calendar, "calendário; meses, prazo, todo mês, tempo; calendar, monthly"),
        "banco": (_bank, "banco; conta bancária, instituição financeira, Banco Central; bank"),
        "carteira": (_wallet, "carteira; gastos, salário, dívida, cartão de crédito; wallet, spending"),
    },
    "history": {
        "scroll": (_scroll, "an old scroll; document, treaty, law, archive, writing"),
        "hourglass": (_hourglass, "an hourglass; time, era, centuries, dates, chronology"),
        "map-pin": (_map_pin, "a map pin; place, city, country, battle site, map, empire borders"),
        "crown": (_crown, "a crown; king, queen, emperor, monarchy, dynasty, power"),
        "book": (_book, "an open book; history, knowledge, story, chronicle"),
        "monument": (_bank, "a classical building with columns; monument, temple, ancient Rome and Greece"),
    },
}


def draw(fn: Draw) -> Image.Image:
    img = Image.new("RGBA", (S, S), (0, 0, 0, 0))
    fn(ImageDraw.Draw(img))
    return img.resize((S // 2, S // 2), Image.Resampling.LANCZOS)


def main() -> None:
    for niche, icons in ICONS.items():
        out = ROOT / niche / "icons"
        out.mkdir(parents=True, exist_ok=True)
        lines = ["# What each icon shows: generated stills pick the icon whose text best fits the part."]
        for name, (fn, text) in icons.items():
            draw(fn).save(out / f"{name}.png", optimize=True)
            lines.append(f"{name}.png: {text!r}".replace("'", '"'))
        (out / "index.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
