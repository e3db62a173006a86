"""Entry point: python -m stabviz ..."""

import sys

from stabviz.cli import main

sys.exit(main())
