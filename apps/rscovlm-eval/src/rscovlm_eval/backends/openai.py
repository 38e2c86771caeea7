"""The `openai` backend: an OpenAI-compatible chat-completions server, `concurrency` requests in flight.

Each image part is replaced by a base64 PNG of exactly the pixels the `hf` backend would feed the model (rs-resolution
resized them with the run's policy, to multiples of the patch factor), so a server whose pixel budget admits that size
does not resize again. Decoding is greedy (`temperature: 0`) with the run's `max_new_tokens`. Connection failures,
timeouts, HTTP 429 and 5xx are retried with exponential backoff; a server that stays unreachable stops the run, a
request the server keeps refusing becomes that sample's error.
"""

from __future__ import annotations

import base64
import io
import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image
from rs_resolution import ResolutionPolicy

from rscovlm_eval.backends import BackendError, RequestError
from rscovlm_eval.config import EvalConfig
from rscovlm_eval.model_settings import ModelSpec

_RETRIED_STATUS = {408, 429, 500, 502, 503, 504}


def png_data_url(image: Image.Image) -> str:
    """A `data:image/png;base64,...` URL of the image (PNG: lossless, the server decodes the same pixels)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def openai_messages(conversation: list[dict[str, Any]], factor: int, policy: ResolutionPolicy) -> list[dict[str, Any]]:
    """A Qwen-style conversation in the chat-completions format, images prepared and inlined as PNG."""
    from rscovlm_model.images import prepare_images

    images = iter(prepare_images(conversation, factor, policy))
    messages = []
    for message in conversation:
        content = message["content"]
        if not isinstance(content, str):
            content = [
                {"type": "image_url", "image_url": {"url": png_data_url(next(images))}}
                if part.get("type") == "image" or "image" in part
                else {"type": "text", "text": part["text"]}
                for part in content
            ]
        messages.append({"role": message["role"], "content": content})
    return messages


def special_tokens(checkpoint: Path) -> tuple[str, ...]:
    """The special tokens of the checkpoint's tokenizer (tokenizer.json), which the `hf` backend's decoding skips;
    none when the folder has no tokenizer.json."""
    try:
        tokenizer = json.loads((checkpoint / "tokenizer.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ()
    return tuple(t["content"] for t in tokenizer.get("added_tokens", []) if t.get("special"))


def reply_text(message: dict[str, Any], drop: tuple[str, ...] = ()) -> str:
    """The assistant's text as the `hf` backend decodes it: the special tokens in `drop` removed (vLLM skips them,
    transformers serve does not), and tool calls that a server parsed out of the reply (transformers serve does for
    Qwen) written back in Qwen's `<tool_call>` form, which the Zoom-in Chain reads."""
    text = message.get("content") or ""
    for token in drop:
        text = text.replace(token, "")
    for call in message.get("tool_calls") or []:
        function = call["function"]
        arguments = function["arguments"]
        if isinstance(arguments, str):
            arguments = json.loads(arguments)
        block = json.dumps({"name": function["name"], "arguments": arguments}, ensure_ascii=False)
        text += ("\n" if text else "") + f"<tool_call>\n{block}\n</tool_call>"
    return text


@dataclass
class OpenAIChat:
    """`generate(conversations) -> answers` through a chat-completions server."""

    base_url: str
    model: str
    factor: int
    policy: ResolutionPolicy
    max_new_tokens: int
    concurrency: int = 8
    timeout_s: float = 600.0
    retries: int = 3
    backoff_s: float = 1.0
    drop_tokens: tuple[str, ...] = ()

    def _request(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """One HTTP call with retries; raises BackendError (unreachable) or RequestError (refused)."""
        url = f"{self.base_url.rstrip('/')}/{path}"
        data = None if body is None else json.dumps(body).encode()
        problem, unreachable = "", False
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
            request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    return json.loads(response.read())
            except urllib.error.HTTPError as error:
                detail = error.read().decode(errors="replace")[:300]
                problem, unreachable = f"HTTP {error.code} from {url}: {detail}", False
                if error.code not in _RETRIED_STATUS:
                    raise RequestError(problem) from error
            except (TimeoutError, ConnectionError, urllib.error.URLError) as error:
                reason = getattr(error, "reason", error)
                unreachable = not isinstance(reason, TimeoutError)
                problem = f"cannot reach {url}: {reason}" if unreachable else f"no answer in {self.timeout_s:g} s"
        error_type = BackendError if unreachable else RequestError
        raise error_type(f"{problem} (after {self.retries} retries)")

    def complete(self, conversation: list[dict[str, Any]]) -> str:
        """The greedy reply to one conversation."""
        body = {
            "model": self.model,
            "messages": openai_messages(conversation, self.factor, self.policy),
            "max_tokens": self.max_new_tokens,
            "temperature": 0.0,
            "stream": False,
        }
        answer = self._request("chat/completions", body)
        try:
            return reply_text(answer["choices"][0]["message"], self.drop_tokens)
        except (KeyError, IndexError, TypeError, ValueError) as error:
            raise RequestError(f"not a chat completion: {json.dumps(answer)[:300]}") from error

    def __call__(self, conversations: list[list[dict[str, Any]]]) -> list[str]:
        if self.concurrency == 1 or len(conversations) == 1:
            return [self.complete(c) for c in conversations]
        with ThreadPoolExecutor(min(self.concurrency, len(conversations))) as pool:
            return list(pool.map(self.complete, conversations))

    def served_models(self) -> list[str]:
        """The model ids the server lists (`GET /models`)."""
        listing = self._request("models")
        return [m["id"] for m in listing.get("data", []) if isinstance(m, dict) and "id" in m]


def connect(config: EvalConfig, spec: ModelSpec) -> OpenAIChat:
    """A client for the configured server, checked up front: reachable, and serving the model asked for (by default
    its only model)."""
    settings = config.inference
    chat = OpenAIChat(
        base_url=settings.base_url,
        model=settings.model or "",
        factor=spec.factor,
        policy=spec.policy,
        max_new_tokens=config.generation.max_new_tokens,
        concurrency=settings.concurrency,
        timeout_s=settings.timeout_s,
        retries=settings.retries,
        backoff_s=settings.backoff_s,
        drop_tokens=special_tokens(config.model),
    )
    try:
        served = chat.served_models()
    except RequestError as error:
        raise BackendError(f"inference.base_url: {error}") from error
    if settings.model is None:
        if len(served) != 1:
            raise BackendError(
                f"inference.model: {settings.base_url} serves {len(served)} models ({', '.join(served) or 'none'}); "
                "name the one to evaluate"
            )
        chat.model = served[0]
    elif served and settings.model not in served:
        raise BackendError(
            f"inference.model: {settings.base_url} does not serve {settings.model!r}; it serves {', '.join(served)}"
        )
    return chat
