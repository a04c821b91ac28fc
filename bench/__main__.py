"""``python -m bench``: run every benchmark, print the table, write bench/results.json."""
import sys

from bench.run import main

sys.exit(main())
