"""Running a library call: a status other than 0 becomes the matching SaegeoError, and a computing
call runs so that Ctrl-C stops it.

Why a worker thread: a Python signal handler only runs in the main thread between bytecodes, never
while that thread sits inside a C call. So the main thread hands the call to a worker and waits on
it (an interruptible wait); Ctrl-C raises KeyboardInterrupt in the waiting main thread, which sets
the call's cancel token. SaegeoCore stops within a tile and returns status 6, and the wait ends
with KeyboardInterrupt. Off the main thread (no signals arrive there) the call runs in place."""
import threading

from ._errors import error_for
from ._lib import lib


def check(status):
    """Raises the error of a failed call, with the library's message."""
    if status != 0:
        raise error_for(status, lib.saegeo_last_error().decode("utf-8", "replace"))


class _CancelToken:
    def __init__(self):
        self.handle = lib.saegeo_cancel_new()

    def cancel(self):
        lib.saegeo_cancel(self.handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        lib.saegeo_cancel_free(self.handle)


def run_cancellable(function, *args_before_token, after_token=()):
    """Calls function(*args_before_token, token, *after_token) and checks its status, so that
    Ctrl-C in the main thread cancels it and raises KeyboardInterrupt.

    The worker reads the error message on its own thread (saegeo_last_error is thread-local)."""
    with _CancelToken() as token:
        args = (*args_before_token, token.handle, *after_token)
        if threading.current_thread() is not threading.main_thread():
            check(function(*args))
            return
        outcome = {}

        def work():
            status = function(*args)
            outcome["status"] = status
            if status != 0:
                outcome["message"] = lib.saegeo_last_error().decode("utf-8", "replace")

        worker = threading.Thread(target=work, name="saegeo-call", daemon=True)
        worker.start()
        try:
            worker.join()
        except KeyboardInterrupt:
            token.cancel()
            _join_uninterrupted(worker)
            raise
        if outcome["status"] != 0:
            raise error_for(outcome["status"], outcome["message"])


def _join_uninterrupted(worker):
    """Waits for a cancelled call to return (within a tile), whatever further Ctrl-Cs arrive: the
    arrays it reads must outlive it."""
    while worker.is_alive():
        try:
            worker.join()
        except KeyboardInterrupt:
            pass
