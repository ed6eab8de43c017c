"""The one kind of error a user can fix: bad flags, bad paths, bad data.

``launch.py`` and the CLIs print a ``UserError`` as one line (no traceback) and exit with status 2;
any other exception is an internal bug and keeps its traceback. Every layer raises a subclass
(``ConfigError`` here, ``ecgq.data.DataError``) whose message names the field or file and the fix.
``ValueError`` stays a base class so that ``except ValueError`` callers keep working.
"""

from __future__ import annotations


class UserError(ValueError):
    """Input the user can correct; the message names the field or file and says how."""


class ConfigError(UserError):
    """A config field (``--config.<path>``) holds a value the study cannot run with."""
