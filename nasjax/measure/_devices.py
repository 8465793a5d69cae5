"""Which device to time on, and CPU pinning. Host-side.

:func:`resolve_device` turns ``"BACKEND[:INDEX]"`` into a JAX device,
:func:`pin_cores` confines the process to given CPU cores before JAX starts, and
:func:`device_setup` describes the device for a measurement file's setup columns.
"""

from __future__ import annotations

import os
import platform

import jax

KNOWN_BACKENDS = ("cpu", "gpu", "cuda", "rocm", "tpu")


def _available_backends() -> list[str]:
    available = []
    for backend in KNOWN_BACKENDS:
        try:
            jax.devices(backend)
        except RuntimeError:
            continue
        available.append(backend)
    return available


def resolve_device(name: str | jax.Device | None = None) -> jax.Device:
    """The device named ``"BACKEND[:INDEX]"`` (``"cpu"``, ``"gpu:1"``); default JAX's
    default device.

    Raises:
        ValueError: unknown or unavailable backend, or no device of that index (the
            message lists what this machine has).
    """
    if name is None:
        return jax.devices()[0]
    if isinstance(name, jax.Device):
        return name
    backend, _, index = name.partition(":")
    try:
        devices = jax.devices(backend)
    except RuntimeError:
        raise ValueError(
            f"unknown or unavailable backend {backend!r}; this machine has "
            f"{_available_backends()}"
        ) from None
    if not index:
        return devices[0]
    if not index.isdigit() or int(index) >= len(devices):
        raise ValueError(
            f"no device {name!r}; {backend} has devices 0..{len(devices) - 1}"
        )
    return devices[int(index)]


def _host_cpu() -> str:
    try:
        with open("/proc/cpuinfo") as file:
            for line in file:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


SINGLE_THREAD_XLA_FLAGS = (
    "--xla_cpu_multi_thread_eigen=false",
    "intra_op_parallelism_threads=1",
)


def pin_cores(cores: str | list[int]) -> None:
    """Confines this process to the CPU ``cores`` (a list, or a string like
    ``"1"`` or ``"2,3"``; Linux); with one core, XLA's CPU backend also runs
    single-threaded (:data:`SINGLE_THREAD_XLA_FLAGS` are appended to ``XLA_FLAGS``).
    Call it before anything starts a JAX backend.

    Raises:
        ValueError: not core numbers, a core this process may not use, an OS
            without CPU affinity, or JAX backends already started.
    """
    from jax._src import xla_bridge

    if isinstance(cores, str):
        try:
            cores = [int(core) for core in cores.split(",")]
        except ValueError:
            raise ValueError(
                f"cores takes core numbers separated by commas, got {cores!r}"
            ) from None

    if not hasattr(os, "sched_setaffinity"):
        raise ValueError("pinning to cores needs Linux (os.sched_setaffinity)")
    allowed = os.sched_getaffinity(0)
    if not cores or not set(cores) <= allowed:
        raise ValueError(f"cores must be some of {sorted(allowed)}, got {cores}")
    if xla_bridge.backends_are_initialized():
        raise ValueError("pin_cores must run before JAX starts its backends")
    os.sched_setaffinity(0, set(cores))
    if len(set(cores)) == 1:
        flags = os.environ.get("XLA_FLAGS", "").split()
        extra = [flag for flag in SINGLE_THREAD_XLA_FLAGS if flag not in flags]
        os.environ["XLA_FLAGS"] = " ".join(flags + extra)


def device_setup(device: jax.Device) -> dict:
    """``backend``, ``device_kind``, ``host_cpu`` (model and the number of cores this
    process may use) and ``jax_version`` of ``device``."""
    return {
        "backend": device.platform,
        "device_kind": device.device_kind,
        "host_cpu": f"{_host_cpu()} x{len(os.sched_getaffinity(0))}"
        if hasattr(os, "sched_getaffinity")
        else f"{_host_cpu()} x{os.cpu_count()}",
        "jax_version": jax.__version__,
    }
