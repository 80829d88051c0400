"""Where GPU workers come from.  Every provider speaks :class:`autoscaler.providers.base.Provider`."""

from __future__ import annotations

from typing import Any

from autoscaler.providers.base import Provider
from tubeflow.settings import Settings

PROVIDERS = ("local", "kubernetes", "runpod", "vastai")


def open_provider(name: str, settings: Settings, **options: Any) -> Provider:
    """Build the named provider; options override what it would read from settings."""
    from tubeflow.errors import ConfigError

    if name == "local":
        from autoscaler.providers.local import LocalProvider

        return LocalProvider.from_settings(settings, **options)
    if name == "kubernetes":
        from autoscaler.providers.kubernetes import KubernetesProvider

        return KubernetesProvider.from_settings(settings, **options)
    if name == "runpod":
        from autoscaler.providers.runpod import RunPodProvider

        return RunPodProvider.from_settings(settings, **options)
    if name == "vastai":
        from autoscaler.providers.vastai import VastAiProvider

        return VastAiProvider.from_settings(settings, **options)
    raise ConfigError(f"unknown autoscaler provider {name!r}; choose one of {', '.join(PROVIDERS)}")
