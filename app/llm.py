"""LLM answerers: OpenAI-compatible endpoints and Ollama through LangChain chat models, verified after.

The prompt (`prompts/answer_system.txt`, `prompts/answer_user.txt`) shows the retrieved chunks as
numbered passages, each inside `<passage id="n" ...>...</passage>` with any `<` or `>` of the article
turned into `‹` `›`, so article text can neither close its tag nor open a new one; the system prompt
says passages are data, never instructions. Passages are added in retrieval order while the prompt
fits `context_tokens` (counted with tiktoken). The model's answer is then verified sentence by
sentence (`app.verify`).

`Answer.mode` says what happened:

- `<backend>+verified` (`openai+verified`, `ollama+verified`): every sentence of the model's answer is
  supported by the passage it cited; markers are renumbered to exact sentence citations.
- `<backend>+corrected`: some citations were removed (no such passage, or it does not support the
  sentence), a sentence got the citation of the passage that does support it, or an unsupported
  sentence was dropped. The `verify:` notes give the verdict for each sentence.
- `extractive-fallback`: no sentence of the model's answer is supported, the model said the passages
  do not answer, nothing was retrieved, or the endpoint failed (`llm:` note with the reason). The
  answer is the extractive answerer's, which may itself abstain.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from app.answering import ExtractiveAnswerer, answer_pieces, chunk_sentences, register_answerer
from app.conversation import Turn, condense
from app.verify import NOTE_PREFIX, Verifier
from core.errors import ConfigError
from core.markers import without_markers
from core.records import Answer, Hit, SentenceCheck
from core.sentences import Sentence
from core.text import normalize_answer
from core.tokens import count_tokens
from prompts import load_prompt

if TYPE_CHECKING:
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_core.messages import BaseMessage

    from core.settings import Settings
    from vectorstore.embedding import Embedder

logger = logging.getLogger(__name__)

DEFAULT_CONTEXT_TOKENS = 3000
"""Default prompt budget (system + passages + question); NEWSDESK_LLM_CONTEXT_TOKENS sets it."""
MAX_SENTENCES = 4
RETRY_AFTER = 30.0
"""After a connection failure or timeout, skip the endpoint for this long (one question asks it twice:
condense, then answer; a dead endpoint should cost one timeout, not two)."""
MAX_STANDALONE_CHARS = 2000
LLM_NOTE = "llm:"
FALLBACK_MODE = "extractive-fallback"

_ANGLE = str.maketrans({"<": "\u2039", ">": "\u203a"})
_ATTR = str.maketrans({"<": "\u2039", ">": "\u203a", '"': "'", "\n": " ", "\r": " "})


def neutralise(text: str) -> str:
    """Article or user text made safe inside a tag: no `<` or `>` can close or open one."""
    return text.translate(_ANGLE)


def format_passage(n: int, hit: Hit) -> str:
    chunk = hit.chunk
    attrs = {"id": str(n), "title": chunk.title, "source": chunk.source,
             "published": chunk.published.isoformat() if chunk.published else ""}
    head = " ".join(f'{k}="{v.translate(_ATTR)}"' for k, v in attrs.items() if v)
    return f"<passage {head}>\n{neutralise(chunk.text.strip())}\n</passage>"


def _truncated(hit: Hit, budget: int) -> Hit | None:
    """The hit cut to its leading sentences that fit `budget` tokens (text stays an exact article slice)."""
    chunk = hit.chunk
    end = None
    kept: list[Sentence] = []
    for sentence in chunk_sentences(chunk):
        b = sentence.end - chunk.start
        if count_tokens(format_passage(1, replace(hit, chunk=replace(chunk, text=chunk.text[:b])))) > budget:
            break
        end = b
        kept.append(sentence)
    if end is None:
        return None
    cut = replace(chunk, text=chunk.text[:end], end=chunk.start + end, sentences=tuple(kept) if chunk.sentences else (),
                  sentence_vectors="")
    return replace(hit, chunk=cut)


def select_passages(hits: Sequence[Hit], budget: int) -> list[Hit]:
    """Hits in retrieval order whose formatted passages fit `budget` tokens together. The first that
    does not fit is cut to its leading sentences that do, and ends the list: a better-ranked passage is
    never skipped in favour of a shorter, worse one."""
    chosen: list[Hit] = []
    used = 0
    for hit in hits:
        cost = count_tokens(format_passage(len(chosen) + 1, hit)) + 2
        if used + cost <= budget:
            chosen.append(hit)
            used += cost
            continue
        cut = _truncated(hit, budget - used - 2)
        if cut is not None:
            chosen.append(cut)
        break
    return chosen


def _messages(system: str, user: str) -> list["BaseMessage"]:
    from langchain_core.messages import HumanMessage, SystemMessage

    return [SystemMessage(content=system), HumanMessage(content=user)]


def _render_history(history: Sequence[Turn]) -> str:
    lines = []
    for turn in history:
        lines.append(f"User: {neutralise(turn.question)}")
        if turn.answer:
            answer = " ".join(without_markers(turn.answer).split())
            lines.append(f"Assistant: {neutralise(answer[:600])}")
    return "\n".join(lines)


def condense_with_llm(question: str, history: Sequence[Turn], chat_model: "BaseChatModel") -> str:
    """The follow-up `question` rewritten by the model as a standalone question (the `condense` prompt).

    Returns `question` unchanged when there is no history. Raises whatever the model call raises.
    """
    question = " ".join(question.split())
    if not history:
        return question
    prompt = load_prompt("condense", history=_render_history(history), question=neutralise(question))
    from langchain_core.messages import HumanMessage

    reply = str(chat_model.invoke([HumanMessage(content=prompt)], stream=False).text)
    lines = [line.strip() for line in reply.strip().splitlines() if line.strip()]
    standalone = re.sub(r"^(?:standalone question|question)\s*:\s*", "", lines[0], flags=re.IGNORECASE) if lines else ""
    standalone = standalone.strip().strip("\"'\u201c\u201d`").strip()
    if not standalone or len(standalone) > MAX_STANDALONE_CHARS:
        return question
    return standalone


class LLMAnswerer:
    """Answers with a chat model over numbered passages, then verifies every sentence's citation."""

    def __init__(
        self, chat_model: "BaseChatModel", *, backend: str, endpoint: str, embedder: "Embedder",
        fallback: ExtractiveAnswerer | None = None, context_tokens: int = DEFAULT_CONTEXT_TOKENS,
        max_sentences: int = MAX_SENTENCES, verifier: Verifier | None = None,
    ) -> None:
        self.chat_model = chat_model
        self.name = backend
        self.endpoint = endpoint
        self.fallback = fallback or ExtractiveAnswerer(embedder)
        self.verifier = verifier or Verifier(embedder)
        self.context_tokens = context_tokens
        self.max_sentences = max_sentences
        self._down: tuple[float, str] | None = None

    # -- the answerer interface ----------------------------------------------------------------

    def answer(self, question: str, hits: Sequence[Hit]) -> Answer:
        """One non-streaming model call, verified."""
        final = None
        for event in self._run(question, hits, streaming=False):
            if isinstance(event, Answer):
                final = event
        assert final is not None
        return final

    def stream(self, question: str, hits: Sequence[Hit]) -> Iterator[str | Answer]:
        """Yield the model's tokens as they come, then the verified `Answer` last.

        The final `Answer.text` is what to show: verification may drop sentences and renumbers the
        markers. If the model produced nothing (endpoint down), the fallback's text is yielded instead.
        """
        yield from self._run(question, hits, streaming=True)

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        """The follow-up rewritten by the model; the rule-based rewrite when the model fails."""
        if not history:
            return " ".join(question.split())
        reason = self._unavailable()
        if reason is None:
            try:
                return condense_with_llm(question, history, self.chat_model)
            except Exception as e:  # any model failure: the rule-based rewrite still works
                reason = self._failed(e)
        logger.warning("condensing the follow-up with the rule-based rewrite: %s", reason)
        return condense(question, history)

    # -- one question --------------------------------------------------------------------------

    def _run(self, question: str, hits: Sequence[Hit], *, streaming: bool) -> Iterator[str | Answer]:
        if not hits:
            answer = self._fall_back(question, hits, "no passages were retrieved, so the model was not asked")
            yield from answer_pieces(answer.text)
            yield answer
            return
        system, user, passages = self.prompt(question, hits)
        reason = self._unavailable()
        parts: list[str] = []
        if reason is None:
            try:
                started = time.perf_counter()
                yield from self._call(_messages(system, user), streaming, parts)
                logger.info("%s answered in %.2fs (%d passages)", self.name, time.perf_counter() - started,
                            len(passages))
            except Exception as e:  # connection, HTTP status, timeout, malformed reply: all fall back
                reason = self._failed(e)
        if reason:
            answer = self._fall_back(question, hits, reason)
        else:
            answer = self._verified(question, hits, passages, "".join(parts))
        if not (streaming and parts):
            yield from answer_pieces(answer.text)
        yield answer

    def prompt(self, question: str, hits: Sequence[Hit]) -> tuple[str, str, list[Hit]]:
        """System prompt, user prompt and the passages it numbers 1..n (those fitting the budget)."""
        system = load_prompt("answer_system", max_sentences=self.max_sentences, no_answer=_no_answer())
        question_text = neutralise(" ".join(question.split()))
        fixed = count_tokens(system) + count_tokens(load_prompt("answer_user", passages="", question=question_text))
        passages = select_passages(hits, max(0, self.context_tokens - fixed))
        if len(passages) < len(hits):
            logger.info("prompt budget %d tokens: %d of %d passages fit", self.context_tokens, len(passages), len(hits))
        body = "\n\n".join(format_passage(n, hit) for n, hit in enumerate(passages, start=1))
        return system, load_prompt("answer_user", passages=body, question=question_text), passages

    def _call(self, messages: list["BaseMessage"], streaming: bool, parts: list[str]) -> Iterator[str]:
        """Run the model, collecting its text in `parts` and yielding each token when streaming."""
        if not streaming:
            parts.append(str(self.chat_model.invoke(messages, stream=False).text))
            return
        for chunk in self.chat_model.stream(messages):
            piece = str(chunk.text)
            if piece:
                parts.append(piece)
                yield piece

    def _verified(self, question: str, hits: Sequence[Hit], passages: list[Hit], text: str) -> Answer:
        text = text.strip()
        if not text or normalize_answer(text).startswith(normalize_answer(_no_answer())):
            why = "the model said the passages do not answer" if text else "the model returned an empty answer"
            return self._fall_back(question, hits, why)
        checked = self.verifier.verify(text, passages, question)
        notes = [*checked.notes, f"{LLM_NOTE} {self.name} model answer before verification: {text}"]
        if checked.supported == 0:
            return self._fall_back(question, hits, "no sentence of the model's answer is supported by the "
                                   "passage it cites", notes, checked.checks)
        mode = f"{self.name}+corrected" if checked.changed else f"{self.name}+verified"
        return Answer(question=question, text=checked.text, citations=checked.citations, hits=list(hits), mode=mode,
                      notes=notes, checks=checked.checks)

    def _fall_back(self, question: str, hits: Sequence[Hit], reason: str, notes: Sequence[str] = (),
                   checks: Sequence[SentenceCheck] = ()) -> Answer:
        answer = self.fallback.answer(question, hits)
        answer.mode = FALLBACK_MODE
        answer.fallback_reason = reason
        answer.checks = list(checks)
        answer.notes = [f"fallback: extractive answer because {reason}", *notes, *answer.notes]
        return answer

    # -- endpoint health -----------------------------------------------------------------------

    def _failed(self, error: Exception) -> str:
        reason = describe_failure(error, self.name, self.endpoint)
        logger.warning("%s", reason)
        if _is_unreachable(error):
            self._down = (time.monotonic() + RETRY_AFTER, reason)
        return f"{LLM_NOTE} {reason}"

    def _unavailable(self) -> str | None:
        if self._down and time.monotonic() < self._down[0]:
            return f"{LLM_NOTE} {self._down[1]} (not retried for {RETRY_AFTER:.0f} s)"
        self._down = None
        return None


def _no_answer() -> str:
    return load_prompt("no_answer").strip()


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _is_unreachable(error: BaseException) -> bool:
    names = {type(e).__name__ for e in _chain(error)}
    return bool(names & {"ConnectError", "ConnectionError", "ConnectionRefusedError", "APIConnectionError",
                         "ModelConnectionError", "ConnectTimeout", "ReadTimeout", "TimeoutException",
                         "APITimeoutError", "ModelTimeoutError", "TimeoutError"})


def describe_failure(error: BaseException, backend: str, endpoint: str) -> str:
    """A sentence a user can act on: unreachable, timed out, or the HTTP status and the server's message."""
    chain = _chain(error)
    for e in chain:
        status = getattr(e, "status_code", None) or getattr(getattr(e, "response", None), "status_code", None)
        if isinstance(status, int):
            detail = _server_message(e)
            return f"the {backend} endpoint {endpoint} answered HTTP {status}" + (f": {detail}" if detail else "")
    names = {type(e).__name__ for e in chain}
    if names & {"ConnectTimeout", "ReadTimeout", "TimeoutException", "APITimeoutError", "ModelTimeoutError",
                "TimeoutError"}:
        return f"the {backend} endpoint {endpoint} did not answer in time"
    if _is_unreachable(error):
        root = chain[-1]
        return f"cannot reach the {backend} endpoint {endpoint} ({type(root).__name__}: {root}); is the server running?"
    return f"the {backend} model call to {endpoint} failed: {type(error).__name__}: {error}"


def _server_message(error: BaseException) -> str:
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, dict) else inner
        if message:
            return str(message)[:300]
    text = getattr(error, "error", None) or getattr(error, "message", None) or str(error)
    return " ".join(str(text).split())[:300]


# -- construction from settings ------------------------------------------------------------------


def openai_chat_model(settings: "Settings") -> "BaseChatModel":
    """`ChatOpenAI` for any OpenAI-compatible server (vLLM, llama.cpp, LM Studio, hosted APIs)."""
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as e:
        raise ConfigError("NEWSDESK_LLM=openai needs langchain-openai: pip install -r requirements.txt") from e
    return ChatOpenAI(
        base_url=settings.openai_base_url, model=settings.openai_model,
        api_key=settings.openai_api_key or "not-needed", timeout=settings.llm_timeout,
        max_retries=0, streaming=True, temperature=0, use_responses_api=False,
    )


def ollama_chat_model(settings: "Settings") -> "BaseChatModel":
    """`ChatOllama` talking to an Ollama server's /api/chat."""
    try:
        from langchain_ollama import ChatOllama
    except ImportError as e:
        raise ConfigError("NEWSDESK_LLM=ollama needs langchain-ollama: pip install -r requirements.txt") from e
    return ChatOllama(
        base_url=settings.ollama_base_url, model=settings.ollama_model, temperature=0,
        client_kwargs={"timeout": settings.llm_timeout},
    )


def _answerer(backend: str, chat_model: "BaseChatModel", endpoint: str, settings: "Settings", embedder: "Embedder",
              fallback: ExtractiveAnswerer | None) -> LLMAnswerer:
    return LLMAnswerer(chat_model, backend=backend, endpoint=endpoint, embedder=embedder, fallback=fallback,
                       context_tokens=settings.llm_context_tokens)


def make_openai_answerer(*, settings: "Settings", embedder: "Embedder",
                         fallback: ExtractiveAnswerer | None = None) -> LLMAnswerer:
    endpoint = settings.openai_base_url or "https://api.openai.com/v1"
    return _answerer("openai", openai_chat_model(settings), endpoint, settings, embedder, fallback)


def make_ollama_answerer(*, settings: "Settings", embedder: "Embedder",
                         fallback: ExtractiveAnswerer | None = None) -> LLMAnswerer:
    return _answerer("ollama", ollama_chat_model(settings), settings.ollama_base_url, settings, embedder, fallback)


register_answerer("openai", make_openai_answerer)
register_answerer("ollama", make_ollama_answerer)

__all__ = ["FALLBACK_MODE", "LLMAnswerer", "NOTE_PREFIX", "condense_with_llm", "describe_failure", "neutralise"]
