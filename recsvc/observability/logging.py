"""One JSON object per log line; anything shaped like an ID number, mobile or name is masked.

Masking never alters an identifier: a number counts only as a whole token (no letter or digit
on either side, so the digit runs inside a hex request id stay), and the values of identifier
fields (request_id, model_hash...) are written as they are. recsvc.api refuses a caller's
X-Request-ID that masking would alter, so the ids it logs are never personal data.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
from typing import Any, TextIO

HANDLER_NAME = "recsvc-json"
ROOT_LOGGER = "recsvc"

# 18-character resident identity number: 17 digits and a digit or X check character.
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
# Mainland mobile number, optionally with +86 / 86 in front; a whole token, like the ID number.
_MOBILE = re.compile(r"(?<![0-9A-Za-z])(?:\+?86[- ]?)?1[3-9]\d{9}(?![0-9A-Za-z])")
# The value of a name-like field, JSON (`"name": "张三"`) or key=value (`name=张三`).
_NAME_FIELD = re.compile(
    r"""(?P<key>["']?(?:full_|customer_|first_|last_|sur)?name["']?\s*[:=]\s*)"""
    r"""(?P<value>"[^"]*"|'[^']*'|[^\s,;}&]+)""",
    re.IGNORECASE,
)
_NAME_ZH_FIELD = re.compile(r"(?P<key>姓名\s*[:：=]\s*)(?P<value>[\u4e00-\u9fff·]{1,10})")
# Fields whose values are identifiers, kept verbatim when they have an identifier's shape.
IDENTIFIER_FIELDS = frozenset({"request_id", "model_hash", "model_version", "version", "key_id"})
_IDENTIFIER = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_KEPT = "@@recsvc-kept-{}@@"  # a stand-in no mask can match (no name key, one digit at most)


def _masked_name(match: re.Match[str]) -> str:
    """The key, then [NAME] inside the value's own quotes (a JSON line stays JSON)."""
    quote = match.group("value")[0]
    return (
        f"{match.group('key')}{quote}[NAME]{quote}"
        if quote in "\"'"
        else f"{match.group('key')}[NAME]"
    )


def mask_pii(text: str) -> str:
    """The text with ID numbers, mobile numbers and name-field values replaced by markers."""
    text = _ID_NUMBER.sub("[ID-NUMBER]", text)
    text = _MOBILE.sub("[PHONE]", text)
    text = _NAME_FIELD.sub(_masked_name, text)
    return _NAME_ZH_FIELD.sub(lambda m: f"{m.group('key')}[NAME]", text)


def is_identifier(key: str, value: object) -> bool:
    """An identifier field with an identifier's shape: logged as it is."""
    return (
        key in IDENTIFIER_FIELDS and isinstance(value, str) and bool(_IDENTIFIER.fullmatch(value))
    )


class PiiMaskingFilter(logging.Filter):
    """Safety net: rewrites a record's message and string fields with mask_pii before output."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_pii(record.getMessage())
        record.args = None
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            record.fields = {
                k: mask_pii(v) if isinstance(v, str) and not is_identifier(k, v) else v
                for k, v in fields.items()
            }
        return True


class JsonFormatter(logging.Formatter):
    """`extra={"fields": {...}}` become top-level keys; the whole line is masked once more."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        kept: dict[str, str] = {}
        for key, value in entry.items():
            if is_identifier(key, value):
                kept[_KEPT.format(len(kept))] = value
                entry[key] = _KEPT.format(len(kept) - 1)
        line = mask_pii(json.dumps(entry, ensure_ascii=False, default=str))
        for stand_in, value in kept.items():
            line = line.replace(json.dumps(stand_in), json.dumps(value), 1)
        return line


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> logging.Handler:
    """Give the `recsvc` logger one JSON handler (replacing an earlier one); returns it."""
    logger = logging.getLogger(ROOT_LOGGER)
    for old in [h for h in logger.handlers if h.get_name() == HANDLER_NAME]:
        logger.removeHandler(old)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(PiiMaskingFilter())
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    return handler
