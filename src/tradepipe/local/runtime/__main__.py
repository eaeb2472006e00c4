import sys

from tradepipe.local.runtime.roles import main

sys.exit(main())
