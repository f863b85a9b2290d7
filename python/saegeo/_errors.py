"""SaegeoError and one subclass per error kind of saegeo.h (the CLI's exit statuses); the message is
the CLI's one line. An interrupted call (status 6) raises KeyboardInterrupt instead."""
import builtins


class SaegeoError(Exception):
    """Every failure of saegeo: str(error) is the CLI's one-line message; .status the kind (1 to 5)."""
    status = 0


class BadInput(SaegeoError, ValueError):
    """Arguments or arrays that cannot be used (status 1): wrong dtype, shape, ids, offsets."""
    status = 1


class BadFile(SaegeoError):
    """A checkpoint or file that is malformed or not what it claims (status 2)."""
    status = 2


class IOError(SaegeoError, builtins.OSError):  # noqa: A001 (saegeo.IOError, an OSError too)
    """Reading or writing failed (status 3)."""
    status = 3


class DeviceError(SaegeoError):
    """A compute device failed or is missing (status 4)."""
    status = 4


class UsageError(SaegeoError):
    """A call out of order or an option combination the CLI refuses (status 5)."""
    status = 5


_KINDS = {1: BadInput, 2: BadFile, 3: IOError, 4: DeviceError, 5: UsageError}
INTERRUPTED = 6


def error_for(status, message):
    """The exception a library status raises (KeyboardInterrupt for an interrupted call)."""
    if status == INTERRUPTED:
        return KeyboardInterrupt(message or "interrupted")
    return _KINDS.get(status, SaegeoError)(message)
