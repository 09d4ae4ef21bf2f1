"""python -m core.cli"""

import os
import sys

# numpy's OpenBLAS starts a thread per core at import (~30 CPU-ms); nothing here multiplies matrices
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from core.cli import main  # after the thread setting above

sys.exit(main())
