"""System call names and numbers per architecture, both ways."""

from __future__ import annotations

import platform
from dataclasses import dataclass, field

from mamori.runtime.tracer import table_aarch64, table_x86_64
from mamori.runtime.tracer.interface import Arch
from mamori.runtime.tracer.libc import TracerError


@dataclass(frozen=True)
class SyscallTable:
    arch: Arch
    numbers: dict[str, int]
    names: dict[int, str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", {nr: name for name, nr in self.numbers.items()})

    def name(self, number: int) -> str:
        """The call's name; `syscall_N` for a number the table does not hold."""
        return self.names.get(number) or f"syscall_{number}"

    def numbers_of(self, names: frozenset[str]) -> list[int]:
        """The numbers of those names this architecture has (aarch64 has no `open`)."""
        return sorted(self.numbers[name] for name in names if name in self.numbers)


TABLES: dict[Arch, SyscallTable] = {
    "x86_64": SyscallTable("x86_64", table_x86_64.NUMBERS),
    "aarch64": SyscallTable("aarch64", table_aarch64.NUMBERS),
}


def host_arch() -> Arch:
    machine = platform.machine()
    if machine == "x86_64":
        return "x86_64"
    if machine in ("aarch64", "arm64"):
        return "aarch64"
    raise TracerError(f"the tracer supports x86_64 and aarch64, not {machine}")
