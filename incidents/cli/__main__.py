"""`python -m incidents.cli` runs the `vigil` command."""
from incidents.cli import main

main()
