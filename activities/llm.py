"""Chat-completion clients for the LLM script writer: Groq (official SDK) or any OpenAI-compatible server.

Both return the assistant's text for a JSON-mode request and translate provider failures into
the project's two error kinds: a rejected key or a malformed request is permanent (retrying
cannot help, a person must fix a setting); a rate limit, a timeout or a 5xx is transient.  A 429
with a short ``retry-after`` is waited out here once; otherwise the delay travels in
:class:`~tubeflow.errors.TransientError` so Temporal's retry honours it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import httpx

from tubeflow.errors import ConfigError, PermanentError, TransientError
from tubeflow.settings import Settings

KEY_REJECTED = "the LLM provider rejected the API key (check TUBEFLOW_LLM_API_KEY/GROQ_API_KEY)"
MAX_INLINE_WAIT_S = 10.0  # a retry-after up to this long is waited out inside the activity
REQUEST_TIMEOUT_S = 120.0

Message = dict[str, str]


@dataclass
class TokenUsage:
    """Tokens a client's calls used, as the provider reported them (the bill is counted in these)."""

    prompt: int = 0
    completion: int = 0

    def add(self, usage: Any) -> None:
        """``usage`` is the answer's usage object (SDK) or dict (JSON); absent fields count 0."""
        self.prompt += _count(usage, "prompt_tokens")
        self.completion += _count(usage, "completion_tokens")

    @property
    def total(self) -> int:
        return self.prompt + self.completion

    def cost_usd(self, price_in_per_mtok: float, price_out_per_mtok: float) -> float | None:
        if price_in_per_mtok <= 0 and price_out_per_mtok <= 0:
            return None  # not priced: the tokens are still shown
        return round((self.prompt * price_in_per_mtok + self.completion * price_out_per_mtok) / 1e6, 6)


def _count(usage: Any, name: str) -> int:
    value = usage.get(name) if isinstance(usage, dict) else getattr(usage, name, None)
    return int(value) if isinstance(value, int | float) else 0


class ChatClient(Protocol):
    name: str
    model: str
    usage: TokenUsage

    async def complete_json(self, messages: list[Message], *, temperature: float = 0.4) -> str: ...


def _retry_after(headers: Any) -> float | None:
    raw = headers.get("retry-after") if headers is not None else None
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:
        return None


def _status_error(provider: str, status: int, headers: Any, detail: str) -> Exception:
    """The project's error for an HTTP failure from ``provider``."""
    if status == 401:
        return PermanentError(KEY_REJECTED)
    if status == 403:
        return PermanentError(f"{provider} refused the request (HTTP 403: {detail}); check the key's permissions")
    if status == 404:
        return PermanentError(
            f"{provider} does not know this model or URL (HTTP 404: {detail}); check TUBEFLOW_LLM_MODEL"
        )
    if status == 429:
        wait = _retry_after(headers)
        return TransientError(
            f"{provider} rate limit (HTTP 429); retry after {wait or 'a while'} s", retry_after_s=wait
        )
    if status >= 500:
        return TransientError(f"{provider} is failing (HTTP {status}: {detail})", retry_after_s=_retry_after(headers))
    return PermanentError(f"{provider} rejected the request (HTTP {status}: {detail})")


async def _with_rate_limit_wait(call: Any) -> str:
    """Run ``call``; after a 429 with a short retry-after, wait it out and try exactly once more."""
    try:
        return cast(str, await call())
    except TransientError as e:
        if e.retry_after_s is None or e.retry_after_s > MAX_INLINE_WAIT_S or "429" not in str(e):
            raise
        await asyncio.sleep(e.retry_after_s)
        return cast(str, await call())


@dataclass
class GroqChatClient:
    """The official ``groq`` SDK; ``base_url`` points it elsewhere (a proxy, or a test server)."""

    api_key: str | None
    model: str
    base_url: str | None = None
    name: str = "groq"
    usage: TokenUsage = field(default_factory=TokenUsage)

    def _client(self) -> Any:
        import groq

        try:
            return groq.AsyncGroq(
                api_key=self.api_key or None, base_url=self.base_url or None, max_retries=0, timeout=REQUEST_TIMEOUT_S
            )
        except groq.GroqError as e:
            raise ConfigError(
                "the Groq writer needs an API key: set TUBEFLOW_LLM_API_KEY or GROQ_API_KEY "
                "(or TUBEFLOW_SCRIPT_WRITER=offline)"
            ) from e

    async def complete_json(self, messages: list[Message], *, temperature: float = 0.4) -> str:
        return await _with_rate_limit_wait(lambda: self._once(messages, temperature))

    async def _once(self, messages: list[Message], temperature: float) -> str:
        import groq

        client = self._client()
        try:
            resp = await client.chat.completions.create(
                model=self.model,
                messages=messages,
                temperature=temperature,
                response_format={"type": "json_object"},
            )
        except groq.APIStatusError as e:
            raise _status_error("Groq", e.status_code, e.response.headers, _detail(e.body) or e.message) from e
        except (groq.APIConnectionError, groq.APITimeoutError) as e:
            raise TransientError(f"Groq is unreachable ({e.__class__.__name__})") from e
        finally:
            await client.close()
        self.usage.add(resp.usage)
        if not resp.choices:
            raise TransientError("Groq returned no choices")
        return resp.choices[0].message.content or ""


@dataclass
class OpenAICompatClient:
    """Any server speaking OpenAI's ``POST /chat/completions`` (Ollama, vLLM, LM Studio...) via httpx."""

    base_url: str
    model: str
    api_key: str = ""
    name: str = "openai"
    usage: TokenUsage = field(default_factory=TokenUsage)

    async def complete_json(self, messages: list[Message], *, temperature: float = 0.4) -> str:
        return await _with_rate_limit_wait(lambda: self._once(messages, temperature))

    async def _once(self, messages: list[Message], temperature: float) -> str:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        body = {
            "model": self.model,
            "messages": messages,
            "temperature": temperature,
            "response_format": {"type": "json_object"},
        }
        url = self.base_url.rstrip("/") + "/chat/completions"
        try:
            async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S) as client:
                resp = await client.post(url, json=body, headers=headers)
        except httpx.HTTPError as e:
            raise TransientError(f"the LLM server at {self.base_url} is unreachable ({e.__class__.__name__})") from e
        if resp.status_code >= 400:
            try:
                detail = _detail(resp.json())
            except ValueError:
                detail = resp.text[:200]
            raise _status_error(f"the LLM server at {self.base_url}", resp.status_code, resp.headers, detail)
        try:
            answer = resp.json()
            if isinstance(answer, dict):
                self.usage.add(answer.get("usage"))
            return str(answer["choices"][0]["message"]["content"] or "")
        except (ValueError, KeyError, IndexError, TypeError) as e:
            raise TransientError(f"the LLM server at {self.base_url} sent an answer without choices") from e


def _detail(body: Any) -> str:
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            return str(err.get("message") or err)[:300]
        return str(err)[:300]
    return str(body or "")[:300]


def make_llm_client(settings: Settings) -> ChatClient:
    kind = settings.script_writer.strip().lower()
    if kind == "groq":
        # No key here means the SDK reads GROQ_API_KEY itself; it refuses to start without one.
        return GroqChatClient(settings.llm_api_key or None, settings.llm_model, settings.llm_base_url or None)
    if kind == "openai":
        if not settings.llm_base_url:
            raise ConfigError(
                "TUBEFLOW_SCRIPT_WRITER=openai needs TUBEFLOW_LLM_BASE_URL, e.g. http://localhost:11434/v1 for Ollama"
            )
        return OpenAICompatClient(settings.llm_base_url, settings.llm_model, settings.llm_api_key)
    raise ConfigError(f"no LLM client for TUBEFLOW_SCRIPT_WRITER={settings.script_writer!r}; use groq or openai")
