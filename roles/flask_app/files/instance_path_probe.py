"""Print, as JSON, the instance folder of the Flask app that a Gunicorn app spec builds.

The flask_app role runs this in a new release (``python -c``), as the app user, with the app's
environment and working directory, before the release goes live. Flask works out
``app.instance_path`` in ``Flask.__init__``, before a factory can do anything with it (such as
``os.makedirs(app.instance_path)``, which fails in a read-only release): the probe stops the
factory right there, so nothing of the app runs beyond its imports and the factory's first lines.

Output: ``{"instance_path": "/abs/path"}``, or ``{"instance_path": null, "reason": "..."}`` when
the spec builds no Flask app that way (the preflight then says what is wrong, if anything).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


class _Found(BaseException):
    """Raised from Flask.__init__ to stop the factory; BaseException passes ``except Exception``."""


def probe(spec: str) -> dict[str, Any]:
    # As Gunicorn does with its working directory (chdir): first on the import path.
    sys.path.insert(0, os.getcwd())
    try:
        import flask
        from gunicorn.util import import_app
    except ImportError as error:
        return {"instance_path": None, "reason": f"cannot import {error.name}"}

    original_init = flask.Flask.__init__

    def init_then_stop(self: flask.Flask, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        raise _Found(self.instance_path)

    flask.Flask.__init__ = init_then_stop  # type: ignore[method-assign]
    try:
        import_app(spec)
    except _Found as found:
        return {"instance_path": os.path.abspath(found.args[0])}
    except Exception as error:  # reported; the preflight shows the traceback
        return {"instance_path": None, "reason": f"{type(error).__name__}: {error}"}
    return {"instance_path": None, "reason": "the app spec built no flask.Flask app"}


if __name__ == "__main__":
    print(json.dumps(probe(sys.argv[1])))
