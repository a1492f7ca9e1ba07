"""``python -m airbnb.synthetic``: see :func:`airbnb.synthetic.cli.main`."""
from .cli import main

main()
