"""The teller's one sentence: salutation, transaction triggers, templates and wording checks."""

from recsvc.pitch.config import (
    DEFAULT_PITCH_PATH,
    PitchConfig,
    PitchConfigError,
    TriggerRule,
    load_pitch_config,
)
from recsvc.pitch.render import (
    PitchText,
    PitchWordingError,
    choose_template,
    first_clean_pitch,
    render_pitch,
    salutation,
    surname_of,
)
from recsvc.pitch.triggers import Trigger, transaction_triggers

__all__ = [
    "DEFAULT_PITCH_PATH",
    "PitchConfig",
    "PitchConfigError",
    "PitchText",
    "PitchWordingError",
    "Trigger",
    "TriggerRule",
    "choose_template",
    "first_clean_pitch",
    "load_pitch_config",
    "render_pitch",
    "salutation",
    "surname_of",
    "transaction_triggers",
]
