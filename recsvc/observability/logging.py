"""One JSON object per log line; anything shaped like an ID number, mobile or name is masked."""

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
# Mainland mobile number, optionally with +86 / 86 in front.
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d{9}(?!\d)")
# The value of a name-like field, JSON (`"name": "张三"`) or key=value (`name=张三`).
_NAME_FIELD = re.compile(
    r"""(?P<key>["']?(?:full_|customer_|first_|last_|sur)?name["']?\s*[:=]\s*)"""
    r"""(?P<value>"[^"]*"|'[^']*'|[^\s,;}&]+)""",
    re.IGNORECASE,
)
_NAME_ZH_FIELD = re.compile(r"(?P<key>姓名\s*[:：=]\s*)(?P<value>[\u4e00-\u9fff·]{1,10})")


def mask_pii(text: str) -> str:
    """The text with ID numbers, mobile numbers and name-field values replaced by markers."""
    text = _ID_NUMBER.sub("[ID-NUMBER]", text)
    text = _MOBILE.sub("[PHONE]", text)
    text = _NAME_FIELD.sub(lambda m: f"{m.group('key')}[NAME]", text)
    return _NAME_ZH_FIELD.sub(lambda m: f"{m.group('key')}[NAME]", text)


class PiiMaskingFilter(logging.Filter):
    """Safety net: rewrites a record's message and string fields with mask_pii before output."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_pii(record.getMessage())
        record.args = None
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            record.fields = {k: mask_pii(v) if isinstance(v, str) else v for k, v in fields.items()}
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
        return mask_pii(json.dumps(entry, ensure_ascii=False, default=str))


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
