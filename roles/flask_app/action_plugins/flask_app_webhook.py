"""Action: tell flask_app_webhook_url about a deploy, from the controller (README "Operating
the app"). A receiver that is down or answers an error never fails the run: the task ends
with a warning instead. The payload holds names, releases and messages, never the app's
environment or secrets, and the warning never repeats the URL (it may carry a token)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from ansible.module_utils.urls import open_url
from ansible.plugins.action import ActionBase

DOCUMENTATION = r"""
action: flask_app_webhook
short_description: POST one JSON deploy event to a webhook, warning instead of failing
options:
  url:
    description: The receiver (flask_app_webhook_url); empty sends nothing.
    type: str
    required: true
  event:
    description:
      - deploy_started, deploy_succeeded, deploy_failed, rollback_succeeded, rollback_failed.
    type: str
    required: true
  app:
    description: The app's name.
    type: str
    required: true
  release:
    description: The release deployed or rolled back to.
    type: str
  hosts:
    description: The app hosts concerned.
    type: list
    elements: str
  run:
    description: This run, as the flask_app_run lookup gives it.
    type: dict
  message:
    description: What failed (the failing task's message).
    type: str
  timeout:
    description: Seconds to wait for the receiver.
    type: int
"""

EVENTS = (
    "deploy_started",
    "deploy_succeeded",
    "deploy_failed",
    "rollback_succeeded",
    "rollback_failed",
)


def webhook_event(
    event: str,
    app: str,
    release: str = "",
    hosts: Sequence[str] = (),
    run: Mapping[str, Any] | None = None,
    message: str = "",
    now: float | None = None,
) -> dict[str, Any]:
    """The JSON body of one event."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}: one of {', '.join(EVENTS)}")
    run = run or {}
    body: dict[str, Any] = {
        "event": event,
        "app": app,
        "release": release or None,
        "hosts": sorted(hosts),
        "by": f"{run.get('user', '?')}@{run.get('controller', '?')}",
        "playbook": run.get("playbook", ""),
        "time": time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if now is None else now)
        ),
    }
    if message:
        body["message"] = message[:2000]
    return body


def deliver(url: str, body: Mapping[str, Any], timeout: int = 5) -> str:
    """POST ``body`` to ``url``; ``""`` when the receiver took it (2xx), else why not."""
    try:
        response = open_url(
            url,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "User-Agent": "flask_app-webhook"},
            method="POST",
            timeout=timeout,
            follow_redirects="none",
        )
        status = response.getcode()
    # Any failure to deliver is a warning, never the run's failure.
    except Exception as error:
        status = getattr(error, "code", None)
        reason = (
            f"HTTP {status}"
            if status
            else type(error).__name__ + ": " + str(getattr(error, "reason", error))
        )
        return reason
    return "" if 200 <= status < 300 else f"HTTP {status}"


class ActionModule(ActionBase):
    _supports_check_mode = True

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(
            argument_spec={
                "url": {"type": "str", "required": True, "no_log": True},
                "event": {"type": "str", "required": True, "choices": list(EVENTS)},
                "app": {"type": "str", "required": True},
                "release": {"type": "str", "default": ""},
                "hosts": {"type": "list", "elements": "str", "default": []},
                "run": {"type": "dict", "default": {}},
                "message": {"type": "str", "default": ""},
                "timeout": {"type": "int", "default": 5},
            }
        )
        result["changed"] = False
        if not args["url"] or self._task.check_mode:
            result["skipped"] = not args["url"]
            return result
        body = webhook_event(
            args["event"], args["app"], args["release"], args["hosts"], args["run"], args["message"]
        )
        failure = deliver(args["url"], body, args["timeout"])
        result["event"] = body
        result["delivered"] = not failure
        if failure:
            result["warnings"] = [
                f"flask_app_webhook_url did not take the {args['event']} event of {args['app']} "
                f"({failure}); the run goes on."
            ]
        return result
