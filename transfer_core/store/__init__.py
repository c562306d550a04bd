"""What runs leave on disk: the run store (one folder per run, its owner and sharing index) and the
feature store (frozen-prefix outputs shared between runs)."""
