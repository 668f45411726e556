"""cobra-style flag parsing: --flag=value, --flag value, booleans; unknown flags are errors."""
from .errors import KubeadmError


def parse(argv: list[str], spec: dict[str, str], command: str) -> tuple[dict, list[str]]:
    """spec: flag name → "str" | "bool" | "list". Returns (flags, positional)."""
    flags: dict = {}
    pos: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a.startswith("-") and a != "-":
            name, eq, value = a.lstrip("-").partition("=")
            if a.startswith("-v") and not a.startswith("--"):
                name = "v"
                value, eq = a[2:].lstrip("=") or "0", "="
            if name not in spec:
                raise KubeadmError(f'unknown flag: --{name}\nTo see the stack trace of this error execute with --v=5 or higher\nUsage: see "kubeadm {command} --help"')
            kind = spec[name]
            if kind == "bool":
                flags[name] = value.lower() != "false" if eq else True
            else:
                if not eq:
                    i += 1
                    if i >= len(argv):
                        raise KubeadmError(f"flag needs an argument: --{name}")
                    value = argv[i]
                if kind == "list":
                    flags.setdefault(name, []).extend(v for v in value.split(",") if v)
                else:
                    flags[name] = value
        else:
            pos.append(a)
        i += 1
    return flags, pos
