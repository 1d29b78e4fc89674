#!/usr/bin/env python3
"""A lossy, slow link between the two hosts of launch/netns-hosts, in user space.

The kernels this project runs on may lack the netem queueing discipline (tc answers
"Specified qdisc kind is unknown"), so `launch/netns-hosts impair` falls back to this relay:
a TUN device in each namespace (tun-a in NAME-a, tun-b in NAME-b), and this process copying
every IP packet from one to the other after DELAY_MS, dropping each with probability
LOSS_PERCENT / 100 (both per direction, as netem on each end would). The drops come from a
seeded generator, so a run sees a reproducible loss pattern for the same packet sequence.

    netns-link-relay.py NAME DELAY_MS LOSS_PERCENT [SEED]

It prints "ready" once both devices exist, then runs until killed; on SIGUSR1 it prints
"forwarded N dropped M" (packets so far, both directions). Needs root.
"""
import collections
import ctypes
import fcntl
import os
import random
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000
CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)


def open_tun(namespace, device):
    """A TUN device named `device`, created inside network namespace `namespace`."""
    with open(f"/run/netns/{namespace}") as ns:
        if libc.setns(ns.fileno(), CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns({namespace})")
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", device.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    # Inherited descriptors would keep whoever started us waiting for their end of a pipe
    # (Foundation's Process, for one, watches a socket pair for its child's exit).
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    name, delay, loss = sys.argv[1], float(sys.argv[2]) / 1000, float(sys.argv[3]) / 100
    rng = random.Random(int(sys.argv[4]) if len(sys.argv) == 5 else 1)
    a, b = open_tun(f"{name}-a", "tun-a"), open_tun(f"{name}-b", "tun-b")
    counts = {"forwarded": 0, "dropped": 0}
    signal.signal(
        signal.SIGUSR1, lambda *_: print(f"forwarded {counts['forwarded']} dropped {counts['dropped']}", flush=True))
    print("ready", flush=True)
    peer = {a: b, b: a}
    queues = {a: collections.deque(), b: collections.deque()}  # per destination: (due, packet)
    while True:
        due = [q[0][0] for q in queues.values() if q]
        timeout = max(0.0, min(due) - time.monotonic()) if due else None
        try:
            readable, _, _ = select.select([a, b], [], [], timeout)
        except InterruptedError:
            continue
        now = time.monotonic()
        for fd in readable:
            while True:
                try:
                    packet = os.read(fd, 65536)
                except BlockingIOError:
                    break
                if rng.random() >= loss:
                    queues[peer[fd]].append((now + delay, packet))
                    counts["forwarded"] += 1
                else:
                    counts["dropped"] += 1
        for fd, queue in queues.items():
            while queue and queue[0][0] <= now:
                try:
                    os.write(fd, queue.popleft()[1])
                except BlockingIOError:
                    pass  # the receiving device's queue is full: the packet is lost, as on a wire


if __name__ == "__main__":
    main()
