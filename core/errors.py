"""The errors every app's services raise, so that views and the API answer them alike."""


class DomainError(Exception):
    """A change the rules do not allow; the message is meant for a person. Nothing was written.

    The API answers it with a 409 (the state forbids it) unless a view knows better.
    """


class NotAllowed(DomainError):
    """The person asking may not do this: a 403 for the API."""
