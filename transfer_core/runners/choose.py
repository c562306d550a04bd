"""The runner a server's settings ask for: runs in threads of this process, in worker processes (the
default: a crash or a hang ends one run, never the server), or as tasks on a Ray cluster. A cluster that
does not answer leaves the runs on this server, with a notice every page shows."""

from transfer_core.errors import TransferLabError
from transfer_core.runners.processes import ProcessRunner
from transfer_core.runners.runner import Runner
from transfer_core.settings import MB, Settings
from transfer_core.store.features import FeatureStore
from transfer_core.store.runs import RunStore


def stores_for(settings: Settings) -> tuple[RunStore, FeatureStore]:
    """The run store and the feature store the settings name: the server's, which the command line shares."""
    return RunStore(settings.runs_dir), FeatureStore(settings.features_dir, settings.feature_store_mb * MB)


def runner_for(settings: Settings) -> Runner:
    """One runner for the whole server: every session shares its slots and queue."""
    store, features = stores_for(settings)
    shared = {
        "slots": settings.local_slots,
        "max_queue": settings.max_queue,
        "features": features,
        "abandoned_seconds": 60 * settings.abandoned_minutes,
    }
    if settings.runner == "threads":
        return Runner(store, **shared)
    if settings.runner == "ray":
        try:
            return ray_runner(store, shared, settings)
        except TransferLabError as err:  # the class still trains, here, and every page says why
            runner = ProcessRunner(store, memory_mb=settings.run_memory_mb, **shared)
            runner.notice = str(err)
            return runner
    return ProcessRunner(store, memory_mb=settings.run_memory_mb, **shared)


def ray_runner(store: RunStore, shared: dict, settings: Settings) -> Runner:
    """Runs as tasks on the Ray cluster at RAY_ADDRESS, or on a Ray started here when there is none.
    Without TRANSFER_LAB_SLOTS, the cluster's CPUs set how many runs train at once."""
    from transfer_core.runners.ray_cluster import RayRunner, start_ray  # Ray is imported only when chosen

    start_ray(settings.ray_address)
    return RayRunner(
        store,
        cpus_per_run=settings.ray_cpus_per_run,
        gpus_per_run=settings.ray_gpus_per_run,
        **shared | {"slots": settings.slots},
    )
