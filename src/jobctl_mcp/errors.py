"""One exception tree for everything an agent may be told went wrong.

JobctlError                      the message is one line, safe to show an agent
 ├── ConfigError                 a vendor is not configured, or a setting is wrong
 ├── InputError                  arguments refused before any request was sent
 ├── NotConfirmedError           a destructive call its human did not approve (or approved a job since changed)
 └── VendorError                 the vendor call failed (vendor, operation)
      ├── VendorUnavailableError the vendor could not be reached, after retries
      ├── OutcomeUnknownError    a write may have reached the vendor; never resent
      └── VendorAPIError         the vendor answered with an error (status, detail)
           ├── AuthError         401, 403, or a refused login
           ├── NotFoundError     404, or an empty answer for one id
           ├── ConflictError     409: the job is busy or already in that state
           ├── RateLimitError    429 (retry_after)
           └── ServerError       5xx
"""

from __future__ import annotations

from typing import Self


class JobctlError(Exception):
    """Base of every error this server reports to an agent as a tool error."""


class ConfigError(JobctlError):
    """The server's configuration does not allow this call."""


class InputError(JobctlError):
    """The arguments were refused before anything was sent to a vendor."""


class NotConfirmedError(JobctlError):
    """A destructive call that its human did not approve, or approved for a job that has changed since."""


class VendorError(JobctlError):
    """A vendor call failed; the message names the vendor and the operation."""

    def __init__(self, vendor: str, operation: str, message: str) -> None:
        self.vendor = vendor
        self.operation = operation
        super().__init__(f"{vendor} {operation} failed: {message}")


class VendorUnavailableError(VendorError):
    """No answer from the vendor (connection refused, timeout) after every allowed attempt."""


class OutcomeUnknownError(VendorError):
    """A request that changes state may have reached the vendor, but no answer came back."""


class VendorAPIError(VendorError):
    """The vendor answered with an error status, or with an error inside a 2xx body."""

    def __init__(self, vendor: str, operation: str, status: int, detail: str, hint: str = "") -> None:
        self.status = status
        self.detail = detail
        self.hint = hint
        # Commvault reports many failures inside HTTP 200 answers: then the status says nothing.
        message = detail if status < 300 else f"HTTP {status}: {detail}" if detail else f"HTTP {status}"
        super().__init__(vendor, operation, sentences(message, hint))

    def advised(self, hint: str, detail: str | None = None) -> Self:
        """The same error with `hint` as what to do next (a tool knows better than its vendor's client), and the
        vendor's `detail` in the tool's own terms if given."""
        advised = type(self).__new__(type(self))
        advised.__dict__.update(self.__dict__)  # what a subclass adds (retry_after) stays
        detail = self.detail if detail is None else detail
        VendorAPIError.__init__(advised, self.vendor, self.operation, self.status, detail, hint)
        return advised


class AuthError(VendorAPIError):
    """The vendor refused the credentials or their permissions."""


class NotFoundError(VendorAPIError):
    """The vendor has no such job."""


class ConflictError(VendorAPIError):
    """The vendor refused the action in the job's current state."""


class RateLimitError(VendorAPIError):
    """The vendor asked us to slow down."""

    def __init__(
        self, vendor: str, operation: str, status: int, detail: str, hint: str = "", retry_after: float | None = None
    ) -> None:
        self.retry_after = retry_after
        super().__init__(vendor, operation, status, detail, hint)


class ServerError(VendorAPIError):
    """The vendor failed on its side."""


def sentences(*parts: str) -> str:
    """`parts` as one text, each but the last ended by a period unless it has one: a vendor's sentence that ends
    in a period does not meet our hint as "..". The last part is kept as it is."""
    kept = [part.strip() for part in parts if part.strip()]
    ended = [part if part.endswith((".", "!", "?", "…")) else f"{part}." for part in kept[:-1]]
    return " ".join([*ended, *kept[-1:]])


def status_error_class(status: int) -> type[VendorAPIError]:
    """The error class for an HTTP status the vendor answered with."""
    if status in (401, 403):
        return AuthError
    if status == 404:
        return NotFoundError
    if status == 409:
        return ConflictError
    if status == 429:
        return RateLimitError
    if status >= 500:
        return ServerError
    return VendorAPIError
