"""Teaching built from runs: the lessons' questions and experiments, a lesson taught to a class, the
strategy race, the transfer-by-layer lab, the article's worked project, the BatchNorm pitfall, the
measured key results, and a run's code to take home (export)."""
