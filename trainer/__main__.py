"""`python -m trainer`: see trainer/cli.py."""

import os
import sys

# Quiet TensorFlow's C++ start-up chatter before anything imports it; the progress bar is the log.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from trainer.cli import main  # noqa: E402

sys.exit(main())
