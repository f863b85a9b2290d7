"""progress=True: a tqdm bar per label when tqdm is installed, else log lines on stderr like the
CLI's (at most one every few seconds per label). The library calls back from a worker thread."""
import sys
import time

from ._lib import PROGRESS_FN


class _Reporter:
    def __init__(self):
        try:
            import tqdm  # noqa: F401 (optional)
            self._tqdm = tqdm.tqdm
        except ImportError:
            self._tqdm = None
        self._bars = {}
        self._last_line = {}

    def __call__(self, label, done, total, _user):
        # An exception must not cross back into the library's thread.
        try:
            self._report(label.decode("utf-8", "replace") if label else "", int(done), int(total))
        except Exception:  # noqa: BLE001
            pass

    def _report(self, label, done, total):
        if self._tqdm is not None:
            bar = self._bars.get(label)
            if bar is None:
                bar = self._bars[label] = self._tqdm(total=total or None, desc=label, unit="")
            bar.update(done - bar.n)
            return
        now = time.monotonic()
        if done < total and now - self._last_line.get(label, -1e9) < 2.0:
            return
        self._last_line[label] = now
        share = f" ({100.0 * done / total:.0f}%)" if total > 0 else ""
        print(f"saegeo: {label} {done}/{total}{share}", file=sys.stderr, flush=True)

    def close(self):
        for bar in self._bars.values():
            bar.close()
        self._bars.clear()


class Progress:
    """The callback to pass (a ctypes function pointer kept alive here), or NULL when off."""

    def __init__(self, enabled):
        self._reporter = _Reporter() if enabled else None
        self.callback = PROGRESS_FN(self._reporter) if enabled else PROGRESS_FN()

    def close(self):
        if self._reporter is not None:
            self._reporter.close()
