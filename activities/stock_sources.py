"""The stock sources the b-roll planner can search: a new one is one module with a ``PROVIDER``
(:class:`~activities.stock.StockProvider` over a :class:`~activities.stock.StockApi`) and one line here."""

from __future__ import annotations

from activities import stock_pexels, stock_pixabay
from activities.stock import StockProvider

STOCK_SOURCES: tuple[StockProvider, ...] = (
    stock_pexels.PROVIDER,
    stock_pixabay.PROVIDER,
)


def stock_source(name: str) -> StockProvider | None:
    """The source a niche's ``broll_sources`` entry or TUBEFLOW_BROLL names, None when none does."""
    return next((p for p in STOCK_SOURCES if name in p.names()), None)
