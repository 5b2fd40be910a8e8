"""The one exception type that means "the user's input is wrong", as opposed to a bug."""


class UserError(Exception):
    """A problem with the user's input (file, key, name, data); the CLIs print it as one line and exit 2."""

    exit_code = 2

    def __init__(self, message: str):
        # One line, always: a multi-line message would defeat `grep` in CI logs.
        super().__init__(" ".join(str(message).split()))
