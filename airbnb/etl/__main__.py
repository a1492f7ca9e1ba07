"""``python -m airbnb.etl``: see :func:`airbnb.etl.cli.main`."""
from .cli import main

main()
