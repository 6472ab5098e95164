#!/usr/bin/env python3
"""Writes login-guard's sample events: CloudWatch Logs subscription payloads
({"awslogs":{"data": base64(gzip(json))}}) of authentication logs, plus broken ones.

  scripts/gen-auth-events.py                 # events/auth/*.json and events/broken/auth-*.json, fixed times
  scripts/gen-auth-events.py --now --only burst-one-account --out FILE
                                             # one payload with current timestamps (the demo)
Deterministic: the same arguments write the same files.
"""
import argparse
import base64
import gzip
import json
import os
import time

T0 = 1_795_000_000_000  # 2026-11-18T08:26:40Z, epoch ms
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def payload(group, events, message_type="DATA_MESSAGE"):
    batch = {
        "messageType": message_type,
        "owner": "123456789012",
        "logGroup": group,
        "logStream": "web-1",
        "subscriptionFilters": ["apptrack-login-guard"],
        "logEvents": [{"id": i, "timestamp": t, "message": m} for i, t, m in events],
    }
    raw = json.dumps(batch, separators=(",", ":")).encode()
    data = base64.b64encode(gzip.compress(raw, mtime=0)).decode()
    return {"awslogs": {"data": data}}


def stable_id(tag, n, t):
    h = 0
    for c in tag:
        h = (h * 131 + ord(c)) % 10**12
    return f"{t:020d}{h:012d}{n:024d}"


def json_line(event, user, ip, ua="python-requests/2.31.0", **extra):
    line = {"level": "warn" if "fail" in event else "info", "service": "accounts",
            "event": event, "user": user, "ip": ip, "user_agent": ua}
    line.update(extra)
    return json.dumps(line, separators=(",", ":"))


def samples(t0, account="alice@example.com"):
    s = {}
    # One account attacked from many addresses (JSON app logs), with the owner logging in.
    ev = []
    for i in range(8):
        t = t0 + i * 15_000
        ev.append((stable_id("burst", i, t), t,
                   json_line("login_failed", account, f"198.51.100.{10 + i}")))
    ev.insert(4, (stable_id("burst-ok", 0, t0 + 50_000), t0 + 50_000,
                  json_line("login_success", account, "192.0.2.44",
                            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) Safari/605.1.15")))
    s["burst-one-account"] = ("/apptrack/demo/auth", ev)

    # One source spraying 25 accounts once each (credential stuffing); carol also 6 times.
    ev = []
    for i in range(25):
        t = t0 + i * 2_000
        ev.append((stable_id("spray", i, t), t,
                   json_line("login_failed", f"user{i:02}@example.com", "203.0.113.77")))
    for i in range(6):
        t = t0 + 60_000 + i * 1_000
        ev.append((stable_id("spray-carol", i, t), t,
                   json_line("login_failed", "carol@example.com", "203.0.113.77")))
    s["spray-one-source"] = ("/apptrack/demo/auth", ev)

    # sshd: brute force against root from two addresses, with an accepted key login between.
    ev = []
    lines = [
        "Failed password for root from 45.10.20.30 port 50122 ssh2",
        "Failed password for invalid user admin from 45.10.20.30 port 50124 ssh2",
        "Invalid user oracle from 45.10.20.31 port 50200",
        "Failed password for root from 45.10.20.31 port 50126 ssh2",
        "Accepted publickey for deploy from 10.0.0.5 port 51000 ssh2: ED25519 SHA256:abc",
        "Failed password for root from 45.10.20.30 port 50128 ssh2",
        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=45.10.20.30  user=root",
        "Failed password for root from 45.10.20.31 port 50130 ssh2",
        "Failed password for root from 45.10.20.30 port 50132 ssh2",
        "Connection closed by authenticating user root 45.10.20.30 port 50134 [preauth]",
    ]
    for i, l in enumerate(lines):
        t = t0 + i * 5_000
        ev.append((stable_id("sshd", i, t), t, f"Nov 18 08:26:{i * 5 % 60:02} ip-10-0-1-17 sshd[{4100 + i}]: {l}"))
    s["sshd-brute-force"] = ("/apptrack/demo/sshd", ev)

    # A custom format, read with APPTRACK_AUTH_REGEX (see the test using it).
    ev = []
    for i in range(6):
        t = t0 + i * 10_000
        outcome = "DENIED" if i != 3 else "GRANTED"
        ev.append((stable_id("custom", i, t), t,
                   f"2026-11-18 08:26:{i * 10:02} AUTH {outcome} user=dave ip=203.0.113.{20 + i} app=vpn"))
    s["custom-regex"] = ("/apptrack/demo/vpn", ev)

    # Failures interleaved with successes from other places, and a health check on loopback.
    ev = []
    for i in range(12):
        t = t0 + i * 20_000
        if i % 3 == 2:
            line = json_line("login_success", "erin@example.com", f"192.0.2.{50 + i}", "okhttp/4.12.0")
        elif i % 4 == 0:
            line = json_line("login_success", "healthcheck", "127.0.0.1", "ELB-HealthChecker/2.0")
        else:
            line = json_line("login_failed", "erin@example.com", "198.51.100.200", "curl/8.5.0")
        ev.append((stable_id("mixed", i, t), t, line))
    ev.append((stable_id("mixed-noise", 0, t0 + 1), t0 + 1,
               '{"level":"info","msg":"GET /api/profile 200","user":"erin@example.com"}'))
    s["interleaved-successes"] = ("/apptrack/demo/auth", ev)

    s["control-message"] = ("/apptrack/demo/auth", [])
    return s


def write(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--now", action="store_true", help="timestamps from the current time")
    ap.add_argument("--only", help="write only this sample")
    ap.add_argument("--out", help="output file (with --only)")
    ap.add_argument("--account", help="attacked account of burst-one-account (default alice@example.com)")
    args = ap.parse_args()
    t0 = int(time.time() * 1000) - 120_000 if args.now else T0
    all_samples = samples(t0, args.account or "alice@example.com")
    if args.only:
        group, ev = all_samples[args.only]
        write(args.out or f"{args.only}.json", payload(group, ev))
        return
    out = os.path.join(ROOT, "events", "auth")
    os.makedirs(out, exist_ok=True)
    for name, (group, ev) in all_samples.items():
        kind = "CONTROL_MESSAGE" if name == "control-message" else "DATA_MESSAGE"
        if kind == "CONTROL_MESSAGE":
            ev = [(stable_id("ctl", 0, t0), t0, "CWL CONTROL MESSAGE: Checking health of destination Lambda.")]
        write(os.path.join(out, f"{name}.json"), payload(group, ev, kind))

    broken = os.path.join(ROOT, "events", "broken")
    write(os.path.join(broken, "auth-not-base64.json"), {"awslogs": {"data": "this is not base64 %%%"}})
    write(os.path.join(broken, "auth-not-gzip.json"),
          {"awslogs": {"data": base64.b64encode(b"plain text, not gzip").decode()}})
    write(os.path.join(broken, "auth-missing-data.json"), {"awslogs": {}})
    bad = json.dumps({"messageType": "DATA_MESSAGE", "logGroup": "/apptrack/demo/auth",
                      "logStream": "web-1", "logEvents": [{"id": "1", "message": "no timestamp"}]})
    write(os.path.join(broken, "auth-event-missing-timestamp.json"),
          {"awslogs": {"data": base64.b64encode(gzip.compress(bad.encode(), mtime=0)).decode()}})
    # A gzip bomb: 16 MiB of zeros, over the 8 MiB decode limit.
    bomb = gzip.compress(b"0" * (16 * 1024 * 1024), mtime=0)
    write(os.path.join(broken, "auth-gzip-bomb.json"), {"awslogs": {"data": base64.b64encode(bomb).decode()}})


if __name__ == "__main__":
    main()
