"""The life of a library object that a Python object owns: freed once, by close(), by leaving a
`with` block, or when the Python object is collected."""


class OwnedHandle:
    """Base of Sae, Scorer and Contrast: `_handle` is the library's object (None once freed) and
    `_release(handle)` the library's *_free for it."""
    _handle = None

    def _release(self, handle):
        raise NotImplementedError

    def _free(self):
        if self._handle:
            self._release(self._handle)
            self._handle = None

    def close(self):
        """Frees the library's object; later calls do nothing."""
        self._free()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_handle", None):
            self._free()
