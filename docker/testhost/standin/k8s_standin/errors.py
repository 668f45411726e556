import sys


class KubeadmError(Exception):
    """Printed as kubeadm prints errors; exit code 1."""


def die(message: str, code: int = 1) -> "NoReturn":  # type: ignore[name-defined]
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.exit(code)
