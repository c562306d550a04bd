"""Sound as data: spoken words synthesised offline, log-mel spectrograms, a learner's own clips
(recorded or uploaded WAV files), and the lab's speech encoder's source task."""
