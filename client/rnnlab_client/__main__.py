"""``python -m rnnlab_client``: the ``rnnlab-client`` command."""

import sys

from rnnlab_client.cli import main

sys.exit(main())
