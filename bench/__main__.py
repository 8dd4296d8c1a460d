"""`python -m bench` (what `make bench` runs): see bench/__init__.py."""

from bench.runner import main

raise SystemExit(main())
