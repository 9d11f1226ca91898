import sys

from handflow.cli import main

sys.exit(main())
