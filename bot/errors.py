"""The one exception hierarchy of the bot: adapters turn these into messages, never tracebacks."""

from __future__ import annotations

from collections.abc import Mapping

from bot.labels import label_of


class OnboardingError(Exception):
    """Base of every error a user can be told about; `str(err)` is the message to show."""


class ValidationError(OnboardingError):
    """Input that cannot be accepted; `field_errors` names each bad field and why.

    Forms show each message beside its field and keep what the user typed.
    """

    def __init__(self, message: str, field_errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.field_errors: dict[str, str] = dict(field_errors or {})

    @classmethod
    def for_fields(
        cls, field_errors: dict[str, str], labels: Mapping[str, str] | None = None
    ) -> ValidationError:
        """The message names each field by the label its form shows (`labels`, from
        `bot.labels`): one problem on one line, several one per line under a heading."""
        lines = [_named(label_of(name, labels), reason) for name, reason in field_errors.items()]
        if len(lines) == 1:
            return cls(lines[0], field_errors)
        heading = f"Please fix these {len(lines)} fields:"
        return cls("\n".join([heading, *(f"• {line}" for line in lines)]), field_errors)


def _named(label: str, reason: str) -> str:
    """ "Country: ..." unless the reason starts with the label already."""
    return reason if reason.casefold().startswith(label.casefold()) else f"{label}: {reason}"


class NotAllowed(OnboardingError):
    """The action does not apply to the onboarding in its current state."""


class NotFound(OnboardingError):
    """No customer, import or other object matches what the user named."""


class Ambiguous(OnboardingError):
    """A customer reference matches several onboardings: the user must choose, we never guess."""

    def __init__(self, reference: str, candidates: list[tuple[str, str]]) -> None:
        self.reference = reference
        self.candidates = candidates  # (onboarding id, "Name (domain)")
        names = ", ".join(label for _, label in candidates)
        super().__init__(
            f'"{reference}" matches {len(candidates)} customers: {names}. '
            "Use the domain or the id to pick one."
        )


class Conflict(OnboardingError):
    """Someone else changed the same thing first (or it already exists)."""


class ProviderError(OnboardingError):
    """Microsoft, the mail service, the hub or a chat platform refused or failed; the message
    says what they said. `retry_after` (seconds) is set when they asked us to wait (HTTP 429).
    `permanent` means trying again cannot help (a mail server's 5xx: no such user, relay
    denied): the delivery ledger gives up at once and says so on the customer's card."""

    def __init__(
        self, message: str, retry_after: float | None = None, *, permanent: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


class StoreUnavailable(OnboardingError):
    """The onboarding store cannot be used right now (unreachable, full or read-only);
    the message says so and that nothing was changed."""
