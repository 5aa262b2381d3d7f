"""``python -m benchmarks``: run the training-step benchmark (see ``benchmarks.runner``)."""

from benchmarks.runner import main

raise SystemExit(main())
