"""The offline proof of `test`: after `setup` (the only step that needs the network: pip, npm,
apt-get for Chromium) the command re-runs itself inside a new network namespace that has nothing
but loopback (`unshare -n`), and fails if any step after pytest tried to send a packet off the
machine.

ANISO_NETNS=require (set by .ci/run) makes a machine without namespaces an error; ANISO_NETNS=off
skips the namespace; the default runs without it, with a warning, where `unshare` is not
permitted (a laptop without user namespaces, macOS).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from . import common
from .common import say

IN_NETNS = "ANISO_IN_NETNS"  # set inside the network namespace
IPV6_SWITCHES = [
    Path(f"/proc/sys/net/ipv6/conf/{i}/disable_ipv6") for i in ("all", "default", "lo")
]


@contextmanager
def ipv6_off():
    """In the namespace of the offline proof, IPv6 off while Chromium runs (the browser check,
    the JupyterLab check); elsewhere nothing changes.

    Chromium's host resolver checks whether IPv6 reaches the internet before it resolves a
    host, even 127.0.0.1, and again every second or so: it routes a UDP socket towards
    2001:4860:4860::8888. No packet is sent, but the kernel counts the routing failure, and the
    ledger of the offline proof would blame the step (JupyterLab's page makes requests for as
    long as it runs). With IPv6 off there is nothing to route. The pages' own requests are
    checked by the checks themselves, which fail on any request off the local server.
    """
    saved = (
        {p: p.read_text() for p in IPV6_SWITCHES if p.exists()} if os.environ.get(IN_NETNS) else {}
    )
    try:
        for path in saved:
            path.write_text("1\n")
    except OSError as err:  # then the probes show up in the ledger of the offline proof
        say(f"could not switch IPv6 off in the namespace ({err})")
    try:
        yield
    finally:
        for path, value in saved.items():
            try:
                path.write_text(value)
            except OSError:
                pass


def netns_prefix() -> tuple[list[str] | None, str]:
    """The command prefix that runs a command in a new network namespace with loopback only, or
    (None, why not)."""
    unshare = shutil.which("unshare")
    ip = shutil.which(
        "ip", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    )
    if not unshare or not ip:
        return None, "needs `unshare` (util-linux) and `ip` (iproute2)"
    flags = ["-n"] if os.geteuid() == 0 else ["-r", "-n"]  # unprivileged: a user namespace first
    # The kernels talk to papermill over loopback TCP, and the browser check serves the book on it.
    prefix = [unshare, *flags, "--", "sh", "-c", f'"{ip}" link set lo up && exec "$@"', "netns"]
    try:
        probe = subprocess.run(prefix + ["true"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        return None, f"`unshare {' '.join(flags)}` failed: {err}"
    if probe.returncode != 0:
        return None, f"`unshare {' '.join(flags)}` is not permitted here: {probe.stderr.strip()}"
    return prefix, ""


def enter_netns() -> None:
    """Re-run this command inside a network namespace with loopback only (see the module
    docstring)."""
    mode = os.environ.get("ANISO_NETNS", "auto")
    if mode == "off":
        say("ANISO_NETNS=off: running with the network (no offline proof)")
        return
    prefix, why = netns_prefix()
    if prefix is None:
        if mode == "require":
            sys.exit(f"[book] ANISO_NETNS=require, but no network namespace: {why}")
        say(
            f"WARNING: running with the network, so this run does not prove the book offline: {why}"
        )
        return
    say(
        "entering a network namespace with loopback only: from here on nothing can reach the "
        "network"
    )
    os.environ[IN_NETNS] = "1"
    os.execv(prefix[0], prefix + [sys.executable, str(common.ENTRY), *sys.argv[1:]])


def packets_off_the_machine() -> int:
    """Attempts of this network namespace to reach the network, from the kernel's counters: packets
    with no route (anything but loopback; IPv4 and IPv6), and datagrams to a closed local port (a
    DNS query to a resolver on loopback, such as systemd-resolved's 127.0.0.53, which is not
    there in the namespace)."""
    count = 0
    rows = [line.split() for line in Path("/proc/net/snmp").read_text().splitlines()]
    for proto, field in (("Ip:", "OutNoRoutes"), ("Udp:", "NoPorts")):
        head, values = [r for r in rows if r and r[0] == proto][:2]
        count += int(values[head.index(field)])
    snmp6 = Path("/proc/net/snmp6")
    if snmp6.exists():
        pairs = (line.split() for line in snmp6.read_text().splitlines() if line.strip())
        count += sum(int(v) for k, v in pairs if k in ("Ip6OutNoRoutes", "Udp6NoPorts"))
    return count


class Ledger:
    """Attempts to reach the network, step by step, in the namespace of the offline proof."""

    def __init__(self) -> None:
        self.on = bool(os.environ.get(IN_NETNS))
        self.last = packets_off_the_machine() if self.on else 0
        self.steps: list[tuple[str, int]] = []
        self.started = time.perf_counter()

    def mark(self, step: str) -> None:
        if self.on:
            now = packets_off_the_machine()
            self.steps.append((step, now - self.last))
            self.last = now

    def report(self, exempt: str = "pytest") -> None:
        """Fail if any step but `exempt` tried to reach the network; else say what was proven."""
        if not self.on:
            return
        interfaces = sorted(name for _, name in socket.if_nameindex())
        counted = [(step, n) for step, n in self.steps if step != exempt]
        steps = ", ".join(step for step, _ in counted)
        if interfaces != ["lo"] or any(n for _, n in counted):
            by_step = ", ".join(f"{step} {n}" for step, n in self.steps)
            sys.exit(
                f"[book] OFFLINE PROOF FAILED: attempts to reach the network, by step: "
                f"{by_step} (network interfaces: {', '.join(interfaces)}); find the culprit "
                f"with `strace -f -e trace=connect,sendto` inside `unshare -n`"
            )
        exempted = sum(n for step, n in self.steps if step == exempt)
        say(
            f"offline proof: {steps} ran in {time.perf_counter() - self.started:.0f} s in a "
            f"network namespace with only loopback, and not one of them tried to reach the network "
            f"({exempt}: {exempted} attempt(s), allowed: tests may check how code fails offline)"
        )
