"""``python -m airbnb.etl``: see :func:`airbnb.etl.main`."""
from . import main

main()
