"""`python -m recsvc ...`: the service's operator commands."""

from recsvc.cli import main

raise SystemExit(main())
