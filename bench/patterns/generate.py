#!/usr/bin/env python3
"""Writes apptrack's own labelled log samples, in LogHub-2k's structured-CSV form.

Formats the four LogHub sample sets do not cover: a proxy, sshd and PAM, kernel and
daemon syslog, a mobile app, Windows-style event text, a Java and a Go service. Every
line is made from an event (a template with typed slots) and random values drawn
with a fixed seed, so the files are the same on every run:

    python3 bench/patterns/generate.py            # rewrites bench/patterns/<Set>/

Each set gets `<Set>/<Set>_2k.log_structured.csv` (LineId, Content, EventId,
EventTemplate: the columns loghub-bench and drain3_baseline.py read) and
`<Set>/<Set>_2k.log_templates.csv`. The labels say what a person would call one
event: user names, host names, service names and other plain-word values are
variables (`<*>`), as LogHub's labellers treat them. Some events are meant to be
hard for a message-local masker (multi-word values, plain words in unusual
places); they are kept, not tuned away, so the figures stay honest.
"""
import csv
import os
import random

LINES = 2000
SEED = 19
HERE = os.path.dirname(os.path.abspath(__file__))

# ---- value pools -------------------------------------------------------------

USERS = """root admin test oracle git ubuntu pi deploy jenkins postgres mysql guest user
ftpuser support alice bob carol dave erin frank grace heidi ivan judy mallory oscar peggy
trent victor walter fztu hxu jmiller kwong lnguyen mgarcia nsato opatel qchen rsmith
tjones vkumar wli xzhang ybrown zhao webmaster nagios zabbix ansible vagrant hadoop
spark elastic tomcat www-data backup operator sysadmin devops dba""".split()

FIRST = "alice bob carol dave erin frank grace heidi ivan judy oscar peggy trent walter".split()
DOMAINS = "example.com example.org corp.example.net acme.io globex.co.uk initech.de".split()
TLDS = "com net org io de fr jp ru cn br in nl hk vn edu".split()
WORDS = """alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike
nova orion pegasus quartz raven sierra tango ultra vega whiskey zulu apollo atlas
borealis cobalt dune ember falcon granite harbor iris jade""".split()
TENANTS = "acme globex initech umbrella hooli stark wayne wonka cyberdyne tyrell soylent vandelay".split()
SERVICES = "billing search payments inventory auth catalog checkout shipping notify ledger reports".split()


def ip(r):
    kind = r.random()
    if kind < 0.5:
        return "%d.%d.%d.%d" % (r.randint(1, 223), r.randint(0, 255), r.randint(0, 255), r.randint(1, 254))
    if kind < 0.8:
        return "10.%d.%d.%d" % (r.randint(0, 255), r.randint(0, 255), r.randint(1, 254))
    return "192.168.%d.%d" % (r.randint(0, 255), r.randint(1, 254))


def port(r):
    return str(r.choice([22, 80, 443, 8080, 8443, 5228, 993, 25, 3306, 5432, 6379, 9092])
               if r.random() < 0.5 else r.randint(1024, 65535))


def host(r):
    """Host names of every common shape: words only, digits, deep, short."""
    k = r.random()
    w = r.choice(WORDS)
    if k < 0.15:
        return "%s.%s" % (w, r.choice(DOMAINS))
    if k < 0.3:
        return "%s%d.%s" % (r.choice(["mail", "cdn", "api", "edge", "ns", "s"]), r.randint(1, 40), r.choice(DOMAINS))
    if k < 0.45:
        return "www.%s.%s" % (w, r.choice(TLDS))
    if k < 0.55:
        return "%s.%s.%s" % (r.choice(["proxy", "gw", "vpn", "intranet"]), w, r.choice(["edu.hk", "ac.uk", "uni-bonn.de", "local", "lan"]))
    if k < 0.65:
        return "e%d.a.akamaiedge.net" % r.randint(100, 9999)
    if k < 0.75:
        return "%s-%d-%d-%d-%d.static.%s.%s" % (r.choice(["host", "ip", "dsl"]), r.randint(1, 223), r.randint(0, 255), r.randint(0, 255), r.randint(1, 254), r.choice(["isp", "telecom", "hinet"]), r.choice(TLDS))
    if k < 0.85:
        return "%s.%s" % (w, r.choice(["internal", "corp", "home.arpa", "svc.cluster.local", "prod.internal"]))
    return "%s.%s.%s" % (r.choice(SERVICES), r.choice(["eu-west-1", "us-east-1", "ap-south-1"]), "compute.internal")


def hostport(r):
    return "%s:%s" % (host(r) if r.random() < 0.7 else ip(r), port(r))


def email(r):
    return "%s%s@%s" % (r.choice(FIRST), r.choice(["", ".smith", "_w", str(r.randint(1, 99))]), r.choice(DOMAINS))


def hexs(r, n):
    return "".join(r.choice("0123456789abcdef") for _ in range(n))


def uuid(r):
    h = hexs(r, 32)
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


def path(r):
    parts = r.sample(["var", "lib", "opt", "app", "data", "log", "tmp", "srv", "cache", "etc", "home", r.choice(USERS)], r.randint(2, 4))
    return "/" + "/".join(parts) + r.choice(["", "/" + r.choice(WORDS) + r.choice([".log", ".db", ".json", ".conf", ""])])


def winpath(r):
    return "C:\\%s\\%s\\%s" % (r.choice(["Windows", "Program Files", "ProgramData", "Users"]), r.choice(["System32", "winsxs", "Temp", r.choice(FIRST)]), r.choice(WORDS) + r.choice([".dll", ".exe", ".log", ".mum"]))


def size(r):
    n = int(r.paretovariate(0.6) * 60)
    if n < 1024:
        return "%d bytes" % n
    if n < 1024 * 1024:
        return "%d bytes (%.1f KB)" % (n, n / 1024)
    return "%d bytes (%.2f MB)" % (n, n / 1024 / 1024)


def lifetime(r):
    s = int(r.expovariate(1 / 40))
    if s < 1:
        return "<1 sec"
    if s < 3600:
        return "%02d:%02d" % (s // 60, s % 60)
    return "%02d:%02d:%02d" % (s // 3600, s // 60 % 60, s % 60)


def ms(r):
    return str(int(r.expovariate(1 / 80)) + 1)


def dur(r):
    return r.choice(["%.3fms" % r.uniform(0.1, 900), "%.1fµs" % r.uniform(5, 999), "%.2fs" % r.uniform(1, 30)])


def date(r):
    return "%s %s %2d %02d:%02d:%02d %d" % (r.choice("Mon Tue Wed Thu Fri Sat Sun".split()),
                                           r.choice("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()),
                                           r.randint(1, 28), r.randint(0, 23), r.randint(0, 59), r.randint(0, 59),
                                           r.choice([2023, 2024, 2025]))


def pkg(r):
    return r.choice(["com.android.systemui", "com.google.android.gms", "com.whatsapp", "com.example.fit",
                     "com.android.phone", "com.spotify.music", "org.mozilla.firefox", "com.android.chrome",
                     "com.tencent.mm", "com.example.health.steps"])


def activity(r):
    return r.choice(["MainActivity", "SettingsActivity", "LoginActivity", "StepDetailActivity", "SplashActivity"])


def num(lo, hi):
    return lambda r: str(r.randint(lo, hi))


def pick(*xs):
    return lambda r: r.choice(xs)


def user(r):
    return r.choice(USERS)


# Slot generators by name; `{name}` in an event's text is one `<*>` in its template.
SLOTS = {
    "ip": ip, "port": port, "host": host, "hostport": hostport, "email": email, "uuid": uuid,
    "path": path, "winpath": winpath, "size": size, "lifetime": lifetime, "ms": ms, "dur": dur,
    "date": date, "pkg": pkg, "activity": activity, "user": user,
    "pid": num(100, 65000), "n": num(0, 500), "small": num(1, 9), "big": num(10000, 9999999),
    "ts": num(1514038000000, 1514999999999), "hex8": lambda r: "0x" + hexs(r, 8),
    "hex": lambda r: "0x" + hexs(r, r.randint(1, 6)), "sha": lambda r: hexs(r, 40),
    "rhost": lambda r: ip(r) if r.random() < 0.6 else host(r),
    "proxy": lambda r: r.choice(["proxy.cse.cuhk.edu.hk:5070", "proxy.corp.example.net:3128", "10.0.0.5:1080", "squid.lan:8080"]),
    "tenant": pick(*TENANTS), "service": pick(*SERVICES), "word": pick(*WORDS),
    "first": pick(*FIRST),
    "bool": pick("True", "False"),
    "unit": pick("nginx.service", "docker.service", "cron.service", "ssh.service", "systemd-journald.service", "postgresql@14-main.service"),
    "comm": pick("cupsd", "snapd", "firefox", "java", "python3", "node", "chrome", "mysqld", "redis-server", "postgres"),
    "iface": pick("eth0", "eth1", "ens3", "wlan0", "lo", "enp0s31f6", "docker0", "br-lan"),
    "disk": pick("sda", "sdb", "sda1", "nvme0n1", "nvme0n1p2", "vda", "mmcblk0"),
    "winsvc": pick("Windows Update", "Background Intelligent Transfer Service", "Print Spooler", "WinHTTP Web Proxy Auto-Discovery Service", "Windows Modules Installer", "Windows Defender Antivirus Service"),
    "state": pick("running", "stopped"),
    "domain": pick("CORP", "ACME", "WORKGROUP", "NT AUTHORITY", "EXAMPLE"),
    "ws": lambda r: r.choice(["DESKTOP-", "LAPTOP-", "WS-", "FINANCE-", ""]) + r.choice(["7QK2M1", "HR01", r.choice(WORDS).upper(), "A%dB" % r.randint(1, 99)]),
    "threat": pick("Trojan:Win32/Wacatac.B!ml", "PUA:Win32/Presenoker", "HackTool:Win64/Mikatz!dha", "Virus:DOS/EICAR_Test_File"),
    "job": pick("nightly-report", "cleanupSessions", "reindex_catalog", "sync-ldap", "rotate-keys", "purge_tmp", "billing-run"),
    "table": pick("orders", "users", "accounts", "sessions", "invoices", "line_items", "audit_log", "products"),
    "method": pick("password", "oidc", "ldap", "saml", "api-key"),
    "net": pick("WIFI", "MOBILE", "ETHERNET", "NONE"),
    "provider": pick("google", "facebook", "apple", "email"),
    "topic": pick("orders.created", "payments.settled", "user-events", "audit", "inventory.v2"),
    "version": lambda r: "%d.%d.%d" % (r.randint(0, 3), r.randint(0, 20), r.randint(0, 40)),
    "desc": pick("Daily apt upgrade and clean activities", "Cleanup of Temporary Directories", "Message of the Day", "Rotate log files", "Refresh fwupd metadata and update motd"),
    "semver": lambda r: "v%d.%d.%d.%d" % (6, r.randint(1, 3), r.randint(7000, 7999), r.randint(10000, 25000)),
    "kbid": lambda r: "Package_for_KB%d~31bf3856ad364e35~amd64~~6.1.1.%d" % (r.randint(2000000, 4999999), r.randint(0, 9)),
    "session": lambda r: "%d_%d" % (r.randint(30000000, 31000000), r.randint(1000000000, 4294967295)),
    "client": pick("WindowsUpdateAgent", "DynamicUpdate", "TrustedInstaller", "CbsPackageServicingApi"),
    "mac": lambda r: ":".join(hexs(r, 2) for _ in range(6)),
    "url": lambda r: "https://%s/%s/%d" % (host(r), r.choice(["api/v1/items", "v2/orders", "hooks"]), r.randint(1, 9999)),
    "apipath": lambda r: "/api/v1/%s/%d" % (r.choice(["users", "orders", "carts", "items"]), r.randint(1, 99999)),
    "key": lambda r: "%s:%d:%s" % (r.choice(["user", "cart", "session"]), r.randint(1, 99999), r.choice(["profile", "items", "token"])),
    "kb": num(1000, 9000000),
    "pct": lambda r: "%d%%" % r.randint(0, 100),
}


def render(text, r):
    """Fills `{slot}` markers; returns (content, template)."""
    out, tpl, i = [], [], 0
    while i < len(text):
        j = text.find("{", i)
        if j < 0:
            out.append(text[i:])
            tpl.append(text[i:])
            break
        k = text.index("}", j)
        out.append(text[i:j])
        tpl.append(text[i:j])
        out.append(SLOTS[text[j + 1:k]](r))
        tpl.append("<*>")
        i = k + 1
    return "".join(out), "".join(tpl)


# ---- the sets: (weight, event text) -------------------------------------------

SETS = {
    "Proxy": [
        (30, "{hostport} open through proxy {proxy} HTTPS"),
        (6, "{hostport} open through proxy {proxy} SOCKS5"),
        (34, "{hostport} close, {size} sent, {size} received, lifetime {lifetime}"),
        (4, "{hostport} error : Could not connect to proxy {proxy} - connection attempt failed with error {n}"),
        (3, "{hostport} error : Could not connect through proxy {proxy} - Proxy server cannot establish a connection with the target, status code {n}"),
        (2, "{hostport} error : A connection request was canceled before the completion."),
        (2, "{hostport} error : Connection reset by peer"),
        (4, "{hostport} open directly"),
        (3, "{hostport} close, {size} sent, {size} received, lifetime {lifetime}, direct"),
        (2, "DNS name resolution of {host} failed through proxy {proxy}"),
        (1, "Proxy {proxy} requires authentication for user {user}"),
        (2, "Rule {word} matched {host}, action {pick_action}"),
        (1, "Traffic: {size} sent, {size} received in the last {n} minutes"),
    ],
    "Sshd": [
        (12, "Invalid user {user} from {ip}"),
        (10, "input_userauth_request: invalid user {user} [preauth]"),
        (8, "pam_unix(sshd:auth): check pass; user unknown"),
        (8, "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={rhost}"),
        (10, "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={rhost} user={user}"),
        (12, "Failed password for invalid user {user} from {ip} port {port} ssh2"),
        (14, "Failed password for {user} from {ip} port {port} ssh2"),
        (3, "Accepted password for {user} from {ip} port {port} ssh2"),
        (2, "Accepted publickey for {user} from {ip} port {port} ssh2: RSA SHA256:{sha}"),
        (4, "pam_unix(sshd:session): session opened for user {user} by (uid=0)"),
        (4, "pam_unix(sshd:session): session closed for user {user}"),
        (8, "Received disconnect from {ip}: 11: Bye Bye [preauth]"),
        (3, "Received disconnect from {ip} port {port}:11: disconnected by user"),
        (3, "Disconnected from user {user} {ip} port {port}"),
        (6, "Connection closed by {ip} [preauth]"),
        (3, "Connection closed by authenticating user {user} {ip} port {port} [preauth]"),
        (5, "reverse mapping checking getaddrinfo for {host} [{ip}] failed - POSSIBLE BREAK-IN ATTEMPT!"),
        (3, "Did not receive identification string from {ip}"),
        (4, "PAM {small} more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost={rhost} user={user}"),
        (3, "Disconnecting: Too many authentication failures for {user} [preauth]"),
        (2, "error: maximum authentication attempts exceeded for {user} from {ip} port {port} ssh2 [preauth]"),
        (1, "Server listening on {ip} port {port}."),
        (2, "User {user} from {host} not allowed because not listed in AllowUsers"),
        (2, "fatal: Read from socket failed: Connection reset by peer [preauth]"),
        (2, "Address {ip} maps to {host}, but this does not map back to the address - POSSIBLE BREAK-IN ATTEMPT!"),
        (3, "message repeated {small} times: [ Failed password for {user} from {ip} port {port} ssh2]"),
        (2, "PAM service(sshd) ignoring max retries; {small} > 3"),
    ],
    "Syslog": [
        (3, "Out of memory: Killed process {pid} ({comm}) total-vm:{kb}kB, anon-rss:{kb}kB, file-rss:0kB"),
        (3, "usb {small}-{small}: new high-speed USB device number {n} using xhci_hcd"),
        (2, "EXT4-fs ({disk}): mounted filesystem with ordered data mode. Opts: (null)"),
        (3, "e1000e: {iface} NIC Link is Up 1000 Mbps Full Duplex, Flow Control: Rx/Tx"),
        (2, "{iface}: link down"),
        (4, "audit: type=1400 audit({big}.{n}:{n}): apparmor=\"DENIED\" operation=\"open\" profile=\"{comm}\" name=\"{path}\" pid={pid} comm=\"{comm}\" requested_mask=\"r\" denied_mask=\"r\" fsuid=0 ouid=0"),
        (6, "[UFW BLOCK] IN={iface} OUT= MAC={mac} SRC={ip} DST={ip} LEN={n} TOS=0x00 PREC=0x00 TTL={n} ID={n} PROTO=TCP SPT={port} DPT={port} WINDOW={n} RES=0x00 SYN URGP=0"),
        (2, "CPU{small}: Core temperature above threshold, cpu clock throttled (total events = {n})"),
        (2, "nf_conntrack: table full, dropping packet"),
        (1, "TCP: request_sock_TCP: Possible SYN flooding on port {port}. Sending cookies.  Check SNMP counters."),
        (8, "Started Session {n} of user {user}."),
        (8, "New session {n} of user {user}."),
        (6, "Removed session {n}."),
        (8, "pam_unix(cron:session): session opened for user {user} by (uid=0)"),
        (6, "pam_unix(cron:session): session closed for user {user}"),
        (5, "({user}) CMD ({path})"),
        (4, "connection from {ip} ({host}) at {date}"),
        (2, "ANONYMOUS FTP LOGIN FROM {ip}, ({user})"),
        (2, "syslogd {version}: restart."),
        (1, "klogd startup succeeded"),
        (1, "crond startup succeeded"),
        (5, "DHCPREQUEST for {ip} on {iface} to {ip} port 67"),
        (5, "DHCPACK of {ip} from {ip}"),
        (4, "bound to {ip} -- renewal in {n} seconds."),
        (3, "synchronized to {ip}, stratum {small}"),
        (2, "Listen normally on {small} {iface} {ip}:123"),
        (3, "pam_unix(su:session): session opened for user {user} by {user}(uid={pid})"),
        (4, "connect from {host}[{ip}]"),
        (4, "disconnect from {host}[{ip}] ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4"),
        (3, "NOQUEUE: reject: RCPT from {host}[{ip}]: 554 5.7.1 <{email}>: Relay access denied; from=<{email}> to=<{email}> proto=ESMTP helo=<{host}>"),
        (4, "Started {desc}."),
        (3, "{unit}: Main process exited, code=exited, status={small}/FAILURE"),
        (2, "{unit}: Failed with result 'exit-code'."),
        (2, "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost={rhost}"),
    ],
    "MobileApp": [
        (10, "onStandStepChanged {n}"),
        (8, "onExtend:{ts} {n} {n} {small}"),
        (6, "getTodayTotalDetailSteps = {ts}##{n}##{big}##{n}##{n}##{big}"),
        (5, "flush sensor data"),
        (6, "REPORT : {n} {n} {big} {n}"),
        (5, "processHandleBroadcastAction action:{pick_intent}"),
        (6, "acquire lock={big}, flags={hex}, tag=\"{pick_tag}\", name={pkg}, ws=null, uid={pid}, pid={pid}"),
        (6, "release lock={big}, flags={hex}, tag=\"{pick_tag}\", name={pkg}, ws=null, uid={pid}, pid={pid}"),
        (3, "Skipped {n} frames!  The application may be doing too much work on its main thread."),
        (3, "Displayed {pkg}/.{activity}: +{ms}ms"),
        (3, "Start proc {pid}:{pkg}/u0a{n} for activity {pkg}/.{activity}"),
        (2, "Process {pkg} (pid {pid}) has died"),
        (2, "Killing {pid}:{pkg}/u0a{n} (adj {n}): empty #{n}"),
        (3, "User {first} signed in with {provider}"),
        (2, "Sync finished for account {email} in {ms} ms"),
        (3, "Network changed: {net}"),
        (3, "GC_CONCURRENT freed {n}K, {pct} free {kb}K/{kb}K, paused {small}ms+{small}ms, total {ms}ms"),
        (3, "setSystemUiVisibility vis={hex} mask={hex} oldVal={hex} newVal={hex} diff={hex}"),
        (2, "Battery level {pct}, charging {bool}"),
        (2, "Failed to upload workout {uuid}: HTTP {n}"),
        (2, "Notification posted for {pkg} id={n} channel={word}"),
    ],
    "WinEvent": [
        (5, "An account failed to log on. Account Name: {user} Account Domain: {domain} Failure Reason: Unknown user name or bad password. Status: 0xC000006D Source Network Address: {ip} Source Port: {port}"),
        (5, "An account was successfully logged on. Account Name: {user} Account Domain: {domain} Logon ID: {hex8} Logon Type: {small} Workstation Name: {ws}"),
        (4, "The {winsvc} service entered the {state} state."),
        (6, "Session: {session} initialized by client {client}."),
        (3, "Loaded Servicing Stack {semver} with Core: {winpath}"),
        (6, "Read out cached package applicability for package: {kbid}, ApplicableState: {n}, CurrentState:{n}"),
        (4, "Failed to get next element [HRESULT = {hex8} - CBS_E_MANIFEST_INVALID_ITEM]"),
        (3, "SQM: Initializing online with Windows opt-in: {bool}"),
        (3, "SQM: Cleaning up report files older than {small} days."),
        (3, "User Logoff: User Name: {user} Domain: {domain} Logon ID: (0x0,{hex8}) Logon Type: {small}"),
        (2, "The Group Policy settings for the computer were processed successfully. There were no changes detected since the last successful processing of Group Policy."),
        (2, "The system uptime is {big} seconds."),
        (2, "Name resolution for the name {host} timed out after none of the configured DNS servers responded."),
        (2, "Windows Defender Antivirus has detected malware or other potentially unwanted software. Name: {threat} Path: {winpath}"),
        (2, "The driver detected a controller error on \\Device\\Harddisk{small}\\DR{small}."),
        (3, "Installation Successful: Windows successfully installed the following update: KB{big}"),
        (2, "The description for Event ID {n} from source {client} cannot be found."),
        (3, "Warning: Unrecognized packageExtended attribute."),
        (3, "Ending TrustedInstaller finalization."),
    ],
    "JavaSvc": [
        (6, "User {user} logged in from {ip}"),
        (5, "Authentication failed for user {user}: bad credentials"),
        (3, "Password reset requested for {email}"),
        (5, "Order {big} created by {user} for tenant {tenant}"),
        (5, "Fetched {n} rows from table {table} in {ms} ms"),
        (4, "Connected to {host}:{port} after {small} attempts"),
        (3, "Unable to reach {host}: Connection timed out"),
        (2, "Exception in thread \"{pick_thread}\" java.lang.NullPointerException"),
        (3, "Caused by: java.net.ConnectException: Connection refused (Connection refused)"),
        (5, "Request GET {apipath} completed with status {n} in {ms}ms"),
        (3, "Request POST {apipath} completed with status {n} in {ms}ms"),
        (4, "Cache miss for key {key}"),
        (4, "Tenant {tenant} exceeded quota: {n} of {n} requests"),
        (4, "Scheduled job {job} finished in {ms} ms"),
        (2, "Sending email to {email} with template {pick_tpl}"),
        (3, "HikariPool-1 - Connection is not available, request timed out after {ms}ms."),
        (3, "Session {uuid} expired for user {user}"),
        (2, "Consumer group {service}-workers rebalanced, {small} partitions assigned on topic {topic}"),
        (2, "Slow query on {table} took {ms} ms: {pick_sql}"),
        (2, "Document {uuid} shared by {user} with {user}"),
        (2, "Starting {service}-service v{version} on {host} with PID {pid} ({path} started by {user} in {path})"),
    ],
    "GoSvc": [
        (5, "http: TLS handshake error from {ip}:{port}: EOF"),
        (3, "http: TLS handshake error from {ip}:{port}: remote error: tls: bad certificate"),
        (4, "dial tcp {ip}:{port}: connect: connection refused"),
        (4, "dial tcp: lookup {host} on {ip}:53: no such host"),
        (4, "level=error msg=\"failed to sync account\" user={user} tenant={tenant} err=\"context deadline exceeded\""),
        (3, "level=warn msg=\"slow request\" method=GET path={apipath} duration={dur}"),
        (3, "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"),
        (6, "GET {apipath} 200 {dur}"),
        (3, "POST {apipath} 201 {dur}"),
        (3, "user {user} authenticated via {method}"),
        (4, "worker {small} picked up job {uuid} for account {tenant}"),
        (3, "retrying request to {url} in {dur} (attempt {small}/5)"),
        (1, "panic: runtime error: invalid memory address or nil pointer dereference"),
        (2, "kafka: client has run out of available brokers to talk to (Is your cluster reachable?)"),
        (1, "pprof listening on {hostport}"),
        (3, "upstream {service} is unhealthy: {small} consecutive failures"),
        (3, "grpc: addrConn.createTransport failed to connect to {ip}:{port}: connection error: desc = \"transport: Error while dialing dial tcp {ip}:{port}: i/o timeout\""),
        (2, "cache: evicted {n} keys from {service} in {dur}"),
        (2, "failed to renew lease for {host}: lease {hex8} not found"),
        (2, "migrated {n} rows in table {table}"),
    ],
}

PICKS = {
    "pick_action": ["Proxy", "Direct", "Block"],
    "pick_intent": ["android.intent.action.SCREEN_ON", "android.intent.action.SCREEN_OFF", "android.intent.action.USER_PRESENT", "android.intent.action.TIME_TICK"],
    "pick_tag": ["View Lock", "WindowManager", "*alarm*", "NlpWakeLock", "AudioMix", "SyncLoopWakeLock"],
    "pick_thread": ["main", "pool-1-thread-3", "http-nio-8080-exec-7", "kafka-consumer"],
    "pick_tpl": ["welcome", "reset_password", "invoice", "digest"],
    "pick_sql": ["SELECT * FROM orders WHERE id = ?", "UPDATE users SET last_seen = ? WHERE id = ?", "DELETE FROM sessions WHERE expires < ?"],
}
for k, v in PICKS.items():
    SLOTS[k] = (lambda xs: lambda r: r.choice(xs))(v)


def write_set(name, events, r):
    folder = os.path.join(HERE, name)
    os.makedirs(folder, exist_ok=True)
    weights = [w for w, _ in events]
    rows, templates = [], {}
    for line_id in range(1, LINES + 1):
        k = r.choices(range(len(events)), weights)[0]
        content, tpl = render(events[k][1], r)
        eid = "E%d" % (k + 1)
        templates[eid] = tpl
        rows.append((line_id, content, eid, tpl))
    with open(os.path.join(folder, name + "_2k.log_structured.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["LineId", "Content", "EventId", "EventTemplate"])
        w.writerows(rows)
    with open(os.path.join(folder, name + "_2k.log_templates.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["EventId", "EventTemplate"])
        for eid in sorted(templates, key=lambda e: int(e[1:])):
            w.writerow([eid, templates[eid]])
    return len(templates)


def main():
    for name, events in SETS.items():
        # One generator per set, seeded from the set's name: adding a set leaves the others as they are.
        r = random.Random("%d/%s" % (SEED, name))
        n = write_set(name, events, r)
        print("%-10s %d lines, %d events" % (name, LINES, n))


if __name__ == "__main__":
    main()
