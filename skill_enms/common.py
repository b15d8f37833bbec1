"""Small helpers shared by the skill's modules."""
from __future__ import annotations

import functools
import threading

_local = threading.local()


def sentence(text: str) -> str:
    """A spoken sentence starts with a capital ('two data problems' -> 'Two ...')."""
    return text[:1].upper() + text[1:] if text else text


def pinned_language() -> str | None:
    """The language pinned for the handler running in this thread, if any."""
    return getattr(_local, "lang", None)


class pinned_core_lang:
    """Pin a language for a block (the skill's start-up: no message yet, so
    OVOS would walk the stack only to find the configured language)."""

    def __init__(self, lang: str | None):
        self.lang = lang

    def __enter__(self):
        self.previous = getattr(_local, "lang", None)
        _local.lang = self.lang
        return self

    def __exit__(self, *exc):
        _local.lang = self.previous
        return False


def pinned_lang(handler):
    """Pin the utterance's language while ``handler`` runs.

    OVOSSkill.lang looks for the current message by walking the call stack
    (inspect.stack) on every use, and the dialog renderer, the resources and
    voc_list all ask for it: some 35 stack walks, about 20 ms, per answer. The
    message is at hand here, so its language is read once.
    """
    @functools.wraps(handler)
    def wrapper(self, message, *args, **kwargs):
        from ovos_bus_client.util import get_message_lang
        from ovos_utils.lang import standardize_lang_tag
        previous = getattr(_local, "lang", None)
        try:
            _local.lang = standardize_lang_tag(get_message_lang(message) or self.core_lang)
        except Exception:  # noqa: BLE001 - fall back to OVOS's own lookup
            _local.lang = None
        try:
            return handler(self, message, *args, **kwargs)
        finally:
            _local.lang = previous
    return wrapper
