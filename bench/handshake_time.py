#!/usr/bin/env python3
"""Time from process start to the go-plugin handshake line, over N runs.

Usage: handshake_time.py <provider-binary> <client-cert.pem> [runs]
Prints the median, p90, min and max in milliseconds, and one JSON line with the same.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

COOKIE = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2"


def one_run(binary, cert_pem, socket_dir):
    env = dict(os.environ)
    env.update(
        TF_PLUGIN_MAGIC_COOKIE=COOKIE,
        # The killed processes cannot remove their sockets: keep them out of /tmp.
        PLUGIN_UNIX_SOCKET_DIR=socket_dir,
        PLUGIN_PROTOCOL_VERSIONS="6",
        PLUGIN_MIN_PORT="10000",
        PLUGIN_MAX_PORT="25000",
        PLUGIN_CLIENT_CERT=cert_pem,
        TF_LOG="off",
    )
    start = time.perf_counter()
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = proc.stdout.readline()
    elapsed = (time.perf_counter() - start) * 1000.0
    proc.kill()
    proc.wait()
    if not line.startswith((b"1|6|unix|" + socket_dir.encode() + b"/", b"1|6|tcp|127.0.0.1:")):
        raise SystemExit(f"unexpected handshake line: {line!r}")
    return elapsed


def main():
    binary, cert_path = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 25
    with open(cert_path) as f:
        cert_pem = f.read()
    with tempfile.TemporaryDirectory() as socket_dir:
        one_run(binary, cert_pem, socket_dir)  # warm the page cache
        times = sorted(one_run(binary, cert_pem, socket_dir) for _ in range(runs))
    p90 = times[min(len(times) - 1, int(round(0.9 * (len(times) - 1))))]
    result = {
        "runs": runs,
        "median_ms": round(statistics.median(times), 2),
        "p90_ms": round(p90, 2),
        "min_ms": round(times[0], 2),
        "max_ms": round(times[-1], 2),
    }
    print(
        f"start to handshake line over {runs} runs: median {result['median_ms']} ms, "
        f"p90 {result['p90_ms']} ms, min {result['min_ms']} ms, max {result['max_ms']} ms"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
