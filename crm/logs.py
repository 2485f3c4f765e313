"""Log filters for the web process."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied


class ForbiddenOneLine(logging.Filter):
    """A 403 is an answer, not a failure: log it as one line ("Forbidden (Permission denied): /path, by
    user 7") instead of Django's warning with the whole traceback of the PermissionDenied raised."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], PermissionDenied):
            record.exc_info = None
            record.exc_text = None
            user_id = getattr(getattr(getattr(record, "request", None), "user", None), "pk", None)
            if user_id is not None and isinstance(record.args, tuple):
                record.msg = f"{record.msg}, by user %s"
                record.args = (*record.args, user_id)
        return True
