"""The root of every error Tollhouse raises on purpose, and the tree under it.

Domain code raises these; only the API edge (`tollhouse.api.problems`) chooses an HTTP status and
an X `Problem` body for them, and only the CLI chooses an exit code. Each domain's own errors
live in its `errors.py`:

* TollhouseError
  + ConfigurationError - settings missing or invalid (start-up only)
  + NotFound
  | + UnknownName - access: an organisation, app, plan, key or end user
  + Conflict
  | + DuplicateName - access
  | + TooManyApps - access
  | + NoAgreement - access
  | + RulesCapExceeded - streams
  + InvalidInput
  | + InvalidId - ids: not a positive 64-bit id (admin routes, ingest, commands)
  | + InvalidPlanBook - access
  | + QuerySyntaxError - corpus.query
  | + InvalidRuleRequest - streams
  + ServiceUnavailable - a backing service cannot answer now; retrying later may work
  | + LimitsUnavailable - limits: the limits backend (Redis down or too slow)
  | + MeteringUnavailable - metering: the spool cannot be written (strict mode)
  | + BusUnavailable - streams: the stream bus (Redis) cannot be reached
  | + QueryTimedOut - corpus: a statement ran past its deadline and was cancelled
  + StreamBusy - streams: the app's one stream connection is already open
  + ApiProblem - api: a refusal that is already an HTTP answer (status, body, headers)
"""

from __future__ import annotations


class TollhouseError(Exception):
    """Base class: a refusal or failure Tollhouse understands and can explain."""


class ConfigurationError(TollhouseError):
    """Settings are missing or invalid; raised at start-up, never per request."""


class NotFound(TollhouseError):
    """A named thing (organisation, app, plan, post…) does not exist."""


class Conflict(TollhouseError):
    """The change would break a uniqueness or consistency rule (duplicate name, too many apps)."""


class InvalidInput(TollhouseError):
    """Input that passed the edge's shape checks but breaks a domain rule."""


class ServiceUnavailable(TollhouseError):
    """A service Tollhouse depends on (a backend, the spool, the bus, the database within a
    deadline) cannot answer now; the request may be retried (503 at the edge)."""
