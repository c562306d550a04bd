"""Where runs train: the runner (slots, a fair bounded queue, owners, cancel, live snapshots) in threads of
this process, in worker processes of a shared server, or as tasks on a Ray cluster; one loop for a run that
trains elsewhere; and the memory a run may take before it is accepted."""
