"""One logging setup for the shell and notebooks: ``airbnb.*`` messages go to stdout."""
import contextlib
import logging
import re
import sys

# A record as the handler below writes it: how a kernel's output lines that are log records are told apart.
RECORD = re.compile(r"\d\d:\d\d:\d\d airbnb[.\w]*: ")


class _StdoutHandler(logging.StreamHandler):
    """Writes to ``sys.stdout`` as it is when a record is emitted, not as it was at setup: a
    notebook kernel or a test's output capture replaces (and closes) the stream it had."""

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, _value):
        pass


def setup_logging(level: int = logging.INFO) -> None:
    """Idempotent: attach a stdout handler to the ``airbnb`` logger once (papermill records it)."""
    logger = logging.getLogger("airbnb")
    logger.setLevel(level)
    if not any(getattr(h, "_airbnb", False) for h in logger.handlers):
        handler = _StdoutHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s", "%H:%M:%S"))
        handler._airbnb = True
        logger.addHandler(handler)
        logger.propagate = False


def get_logger(module_name: str) -> logging.Logger:
    """The module's own logger under ``airbnb`` (e.g. ``airbnb.training.loop``), also when the module
    runs as ``python -m airbnb.<module>`` (``__main__``)."""
    if module_name == "__main__":
        spec = getattr(sys.modules["__main__"], "__spec__", None)
        module_name = spec.name if spec is not None else "main"
    return logging.getLogger(module_name if module_name.startswith("airbnb.") else "airbnb." + module_name)


@contextlib.contextmanager
def quiet(*names: str, level: int = logging.WARNING):
    """Only ``level`` and above from these loggers inside the block: e.g. the trainings inside
    cross-validation, whose fold lines already say what matters."""
    loggers = [logging.getLogger(name) for name in names]
    before = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(level)
    try:
        yield
    finally:
        for logger, old in zip(loggers, before):
            logger.setLevel(old)
