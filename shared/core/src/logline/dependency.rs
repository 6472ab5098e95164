//! Finds what an error line blames: the HTTP status, the dependency it names (host, host:port,
//! URL host, AWS service, database) and the suspected cause, by scanning the error's text.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;

use super::{ParsedLine, SuspectedCause, clip, trace};

/// Bytes of error text scanned; the names that matter are in the first lines.
const MAX_SCAN_BYTES: usize = 8 * 1024;

pub(super) fn analyze(line: &mut ParsedLine, evidence: &str) {
    let text = scan_text(line, evidence);
    let lower = text.to_ascii_lowercase();
    let scan = Scan::new(&lower);

    if line.http_status.is_none() {
        line.http_status = http_status(&scan);
    }
    let host = find_host(&text, &scan);
    let aws = aws_service(&scan, host.as_ref().map(|h| h.name.as_str()));
    let database = database(&text, &scan, host.as_ref());

    let (dependency, cause) = if let Some(db) = database {
        let name = host.map(|h| h.name).unwrap_or_else(|| db.to_owned());
        (Some(name), SuspectedCause::Database)
    } else if let Some(service) = aws {
        (Some(service), SuspectedCause::AwsService)
    } else if let Some(h) =
        host.filter(|h| h.score > 0 || line.http_status.is_some() || scan.has(Vocab::Network))
    {
        let api = h.http
            || line.http_status.is_some_and(|s| s >= 400)
            || scan.has(Vocab::Upstream)
            || h.name.ends_with(":443")
            || h.name.ends_with(":80");
        let cause = if api {
            SuspectedCause::ExternalApi
        } else {
            SuspectedCause::Network
        };
        (Some(h.name), cause)
    } else if scan.has(Vocab::Network) {
        (None, SuspectedCause::Network)
    } else if line.http_status.is_some_and(|s| s >= 500) && scan.has(Vocab::Upstream) {
        (None, SuspectedCause::ExternalApi)
    } else {
        (None, local_cause(line, &scan))
    };
    line.dependency = dependency;
    if line.cause == SuspectedCause::Unknown {
        line.cause = cause;
    }
}

/// The message, the error and the non-frame lines of the trace (frames name our own code,
/// not the dependency), plus dependency-like JSON fields.
fn scan_text(line: &ParsedLine, evidence: &str) -> String {
    let mut text = String::with_capacity(512);
    let mut push = |s: &str| {
        if text.len() < MAX_SCAN_BYTES {
            text.push_str(clip(s, MAX_SCAN_BYTES - text.len()));
            text.push('\n');
        }
    };
    push(&line.message);
    if let Some(t) = &line.error_type {
        push(t);
    }
    if let Some(m) = &line.error_message {
        push(m);
    }
    push(evidence);
    if let Some(trace) = &line.stack_trace {
        let mut after_python_frame = false;
        for l in trace.text.lines().take(200) {
            let t = l.trim_start();
            // Python prints the source line under each `File "..."` frame.
            let skip = after_python_frame;
            after_python_frame = t.starts_with("File \"");
            if skip || after_python_frame || trace::is_frame_line(l) || t.starts_with("...") {
                continue;
            }
            push(l);
        }
    }
    text
}

/// `HTTP 502`, `status code 500`, `upstream 503`, `statusCode: 503`, `HTTP/1.1" 502`, `503 Service Unavailable`.
fn http_status(scan: &Scan<'_>) -> Option<u16> {
    let lower = scan.lower;
    for (i, key) in STATUS_KEYS.iter().enumerate() {
        let mut next = scan.find(Vocab::StatusKeys, i);
        while let Some(at) = next {
            let after = at + key.len();
            if let Some(code) = status_after(&lower[after..]) {
                return Some(code);
            }
            next = lower[after..].find(key).map(|found| after + found);
        }
    }
    (0..STATUS_PHRASES.len()).find_map(|i| {
        let at = scan.find(Vocab::StatusPhrases, i)?;
        let before = &lower.as_bytes()[..at];
        let n = before.len();
        if n >= 3 && before[n - 3..].iter().all(u8::is_ascii_digit) {
            parse_status(&lower[at - 3..at])
        } else {
            None
        }
    })
}

fn status_after(rest: &str) -> Option<u16> {
    let skipped = rest
        .bytes()
        .take(4)
        .take_while(|b| matches!(b, b' ' | b':' | b'=' | b'"' | b'\'' | b'(' | b'['))
        .count();
    let digits = rest.get(skipped..skipped + 3)?;
    let following = rest.as_bytes().get(skipped + 3);
    if following.is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'.') {
        return None;
    }
    parse_status(digits)
}

fn parse_status(digits: &str) -> Option<u16> {
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let code: u16 = digits.parse().ok()?;
    (100..=599).contains(&code).then_some(code)
}

struct Host {
    name: String,
    /// 3: quoted after `host`/`server`, 2: URL, 1: host:port, 0: bare name.
    score: u8,
    http: bool,
}

fn find_host(text: &str, scan: &Scan<'_>) -> Option<Host> {
    let mut best: Option<Host> = None;
    let mut offer = |h: Host| {
        if best.as_ref().is_none_or(|b| h.score > b.score) {
            best = Some(h);
        }
    };
    if let Some(h) = quoted_host(scan) {
        offer(h);
    }
    if let Some(h) = url_host(scan) {
        offer(h);
    }
    if let Some(h) = bare_host(text, scan.lower) {
        offer(h);
    }
    best
}

/// `host "db.x"`, `host='api.x.com', port=443`, `server at "db.x"`, `server on 'db.x'`.
fn quoted_host(scan: &Scan<'_>) -> Option<Host> {
    let lower = scan.lower;
    for (i, key) in HOST_KEYS.iter().enumerate() {
        let Some(at) = scan.find(Vocab::HostKeys, i) else {
            continue;
        };
        let rest = &lower[at + key.len()..];
        let rest = rest.trim_start_matches(['"', '\'']);
        let end = rest
            .find(['"', '\'', ',', ')', ' ', '\n'])
            .unwrap_or(rest.len());
        let name = &rest[..end];
        if !is_host(name, true) {
            continue;
        }
        let port = rest
            .get(end..)
            .and_then(|tail| tail.get(..tail.len().min(60)))
            .and_then(|tail| tail.find("port").map(|p| &tail[p + 4..]))
            .map(|p| p.trim_start_matches(['=', ' ', ':']))
            .map(|p| &p[..p.find(|c: char| !c.is_ascii_digit()).unwrap_or(p.len())])
            .filter(|p| !p.is_empty() && p.len() <= 5);
        let name = match port {
            Some(p) => format!("{name}:{p}"),
            None => name.to_owned(),
        };
        let http = lower[..at].ends_with("connectionpool(");
        return Some(Host {
            name,
            score: 3,
            http,
        });
    }
    None
}

/// The host (with an explicit port) of the first URL.
fn url_host(scan: &Scan<'_>) -> Option<Host> {
    let lower = scan.lower;
    let mut next = scan.find(Vocab::Scheme, 0);
    while let Some(at) = next {
        next = lower[at + 3..].find("://").map(|found| at + 3 + found);
        let scheme_start = lower[..at]
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '+'))
            .map_or(0, |(p, c)| p + c.len_utf8());
        let scheme = &lower[scheme_start..at];
        let rest = &lower[at + 3..];
        let authority = &rest[..rest
            .find(['/', '?', '#', ' ', '"', '\'', '\n', ')', '>', ','])
            .unwrap_or(rest.len())];
        let host_port = authority.rsplit_once('@').map_or(authority, |p| p.1);
        let host = host_port.split(':').next().unwrap_or("");
        if !is_host(host, true) {
            continue;
        }
        return Some(Host {
            name: host_port.trim_end_matches(':').to_owned(),
            score: 2,
            http: matches!(scheme, "http" | "https" | "ws" | "wss"),
        });
    }
    None
}

/// The first token shaped like a hostname or IPv4 address, preferring one with a port.
/// `text` is the original of `lower`: hostnames are written in lower case, while
/// class names (`org.postgresql.util.PSQLException`) are not.
fn bare_host(text: &str, lower: &str) -> Option<Host> {
    let b = lower.as_bytes();
    let mut first_bare: Option<Host> = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let starts = c.is_ascii_alphanumeric()
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b"._-@/$\\".contains(&b[i - 1])));
        if !starts {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'.' || b[j] == b'-') {
            j += 1;
        }
        let name = lower[i..j].trim_end_matches(['.', '-']);
        let mut end = i + name.len();
        let mut port = None;
        if end == j && b.get(j) == Some(&b':') {
            let digits = b[j + 1..].iter().take_while(|d| d.is_ascii_digit()).count();
            let after = b.get(j + 1 + digits).copied();
            let after_next = b.get(j + 2 + digits).copied();
            // `12:00:00` is a clock, `10.0.0.1:5432: connect` is a host followed by a colon.
            let continues = after.is_some_and(|a| a.is_ascii_alphanumeric())
                || (after == Some(b':') && after_next.is_some_and(|a| a.is_ascii_digit()));
            if (1..=5).contains(&digits) && !continues {
                port = Some(&lower[j + 1..j + 1 + digits]);
                end = j + 1 + digits;
            }
        }
        let lower_case = !text.as_bytes()[i..i + name.len()]
            .iter()
            .any(u8::is_ascii_uppercase);
        let accepted = lower_case
            && !NOT_HOSTS.contains(&name)
            && if port.is_some() {
                is_host(name, true) && !name.bytes().all(|d| d.is_ascii_digit())
            } else {
                is_host(name, false)
            };
        if accepted {
            match port {
                Some(p) => {
                    return Some(Host {
                        name: format!("{name}:{p}"),
                        score: 1,
                        http: false,
                    });
                }
                None if first_bare.is_none() => {
                    first_bare = Some(Host {
                        name: name.to_owned(),
                        score: 0,
                        http: false,
                    });
                }
                None => {}
            }
        }
        i = end.max(i + 1);
    }
    first_bare
}

/// Words that appear as `word:123` in error text without being hosts.
const NOT_HOSTS: &[&str] = &[
    "line", "port", "status", "code", "error", "errno", "id", "pid", "at", "col", "column",
    "offset", "index", "timeout", "retry", "attempt", "count", "size", "limit", "http", "https",
    "tcp", "udp",
];

const FILE_EXTENSIONS: &[&str] = &[
    "js",
    "mjs",
    "cjs",
    "ts",
    "py",
    "pyc",
    "java",
    "class",
    "jar",
    "rb",
    "go",
    "rs",
    "cs",
    "kt",
    "scala",
    "php",
    "json",
    "yaml",
    "yml",
    "xml",
    "txt",
    "log",
    "html",
    "css",
    "md",
    "csv",
    "sql",
    "sh",
    "conf",
    "cfg",
    "ini",
    "toml",
    "lock",
    "gz",
    "zip",
    "tar",
    "pem",
    "key",
    "crt",
    "so",
    "dll",
    "exe",
    "properties",
    "tsx",
    "jsx",
    "h",
    "c",
    "cpp",
    "map",
    "env",
    "pdf",
    "png",
    "jpg",
];

/// A DNS name with an alphabetic TLD that is not a file extension, an IPv4 address, or
/// (`single_label`) a one-label name such as `localhost` or a compose service `db`.
fn is_host(name: &str, single_label: bool) -> bool {
    if name.is_empty() || name.len() > 253 {
        return false;
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    // One pass over the labels (this runs for every token of an error line).
    let (mut count, mut octets) = (0, true);
    for label in name.split('.') {
        if !label_ok(label) {
            return false;
        }
        count += 1;
        octets &= label.len() <= 3 && label.parse::<u8>().is_ok();
    }
    if count == 4 && octets {
        return true;
    }
    if count == 1 {
        return single_label && name.bytes().any(|b| b.is_ascii_alphabetic());
    }
    let first = name.split('.').next().unwrap_or("");
    let tld = name.rsplit('.').next().unwrap_or("");
    tld.len() >= 2
        && tld.bytes().all(|b| b.is_ascii_alphabetic())
        && !FILE_EXTENSIONS.contains(&tld)
        && first.bytes().any(|b| b.is_ascii_alphabetic())
}

/// Which AWS service the error names, if any.
fn aws_service(scan: &Scan<'_>, host: Option<&str>) -> Option<String> {
    let lower = scan.lower;
    const SERVICES: &[&str] = &[
        "dynamodb",
        "s3",
        "sqs",
        "sns",
        "kinesis",
        "firehose",
        "secretsmanager",
        "ssm",
        "sts",
        "lambda",
        "events",
        "states",
        "ses",
        "kms",
        "cognito-idp",
        "rds-data",
        "athena",
        "glue",
        "ecs",
        "ec2",
        "cloudwatch",
        "logs",
        "monitoring",
        "execute-api",
        "bedrock-runtime",
    ];
    // An AWS endpoint host names the service as a label: dynamodb.us-east-1.amazonaws.com, b.s3.amazonaws.com.
    if let Some(h) = host
        && let Some(prefix) = h
            .split(':')
            .next()
            .and_then(|h| h.strip_suffix(".amazonaws.com"))
    {
        let service = prefix
            .split('.')
            .find(|l| SERVICES.contains(l))
            .or_else(|| prefix.split('.').next())
            .unwrap_or("aws");
        return Some(service.to_owned());
    }
    // SDK package names: software.amazon.awssdk.services.dynamodb..., com.amazonaws.services.dynamodbv2...
    for (i, marker) in SDK_MARKERS.iter().enumerate() {
        if let Some(at) = scan.find(Vocab::SdkMarkers, i) {
            let rest = &lower[at + marker.len()..];
            let name = &rest[..rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .unwrap_or(rest.len())];
            if !name.is_empty() {
                return Some(name.trim_end_matches("v2").to_owned());
            }
        }
    }
    if let Some(i) = scan.first_word(Vocab::AwsNamed) {
        return Some(AWS_NAMED[i].1.to_owned());
    }
    // botocore: `An error occurred (X) when calling the PutItem operation`.
    if let Some(at) = scan.find(Vocab::AwsCall, 0) {
        let rest = &lower[at + "when calling the ".len()..];
        let op = rest.split(' ').next().unwrap_or("");
        const OPERATIONS: &[(&[&str], &str)] = &[
            (
                &[
                    "putitem",
                    "getitem",
                    "query",
                    "scan",
                    "updateitem",
                    "deleteitem",
                    "batchwriteitem",
                    "batchgetitem",
                    "transactwriteitems",
                    "transactgetitems",
                ],
                "dynamodb",
            ),
            (
                &[
                    "getobject",
                    "putobject",
                    "headobject",
                    "listobjectsv2",
                    "deleteobject",
                    "copyobject",
                ],
                "s3",
            ),
            (
                &[
                    "sendmessage",
                    "sendmessagebatch",
                    "receivemessage",
                    "deletemessage",
                ],
                "sqs",
            ),
            (&["publish"], "sns"),
            (&["putrecord", "putrecords", "getrecords"], "kinesis"),
            (&["getsecretvalue"], "secretsmanager"),
            (
                &["getparameter", "getparameters", "getparametersbypath"],
                "ssm",
            ),
            (&["assumerole"], "sts"),
            (&["invoke"], "lambda"),
            (&["putevents"], "events"),
            (&["startexecution"], "states"),
            (&["sendemail", "sendrawemail"], "ses"),
            (&["decrypt", "encrypt", "generatedatakey"], "kms"),
        ];
        if let Some((_, service)) = OPERATIONS.iter().find(|(ops, _)| ops.contains(&op)) {
            return Some((*service).to_owned());
        }
        return Some("aws".to_owned());
    }
    if scan.has(Vocab::Throttle) {
        return Some("aws".to_owned());
    }
    None
}

/// The database system an error names; `Some` means the error is a database error.
fn database(text: &str, scan: &Scan<'_>, host: Option<&Host>) -> Option<&'static str> {
    if let Some(i) = (0..DATABASES.len()).find(|i| scan.has(Vocab::Database(*i))) {
        return Some(DATABASES[i].1);
    }
    // MySQL error codes are upper case (`ER_DUP_ENTRY`); lower-case `er_` is too common a substring.
    if text.contains("ER_")
        && text
            .split("ER_")
            .nth(1)
            .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_uppercase()))
    {
        return Some("mysql");
    }
    let port = host.and_then(|h| h.name.rsplit_once(':')).map(|p| p.1);
    match port {
        Some("5432") => Some("postgresql"),
        Some("3306") => Some("mysql"),
        Some("6379") => Some("redis"),
        Some("27017") => Some("mongodb"),
        Some("1433") => Some("sqlserver"),
        Some("1521") => Some("oracle"),
        _ => None,
    }
}

/// No external dependency named: the function itself (resources) or its code.
fn local_cause(line: &ParsedLine, scan: &Scan<'_>) -> SuspectedCause {
    if scan.has(Vocab::Resource) {
        return SuspectedCause::Resource;
    }
    const CODE_TYPES: &[&str] = &[
        "TypeError",
        "ReferenceError",
        "SyntaxError",
        "RangeError",
        "KeyError",
        "AttributeError",
        "IndexError",
        "NameError",
        "UnboundLocalError",
        "ZeroDivisionError",
        "AssertionError",
        "NotImplementedError",
        "ValueError",
        "ImportError",
        "ModuleNotFoundError",
        "RecursionError",
        "JSONDecodeError",
        "UnicodeDecodeError",
        "NullPointerException",
        "ClassCastException",
        "IllegalArgumentException",
        "IllegalStateException",
        "ArrayIndexOutOfBoundsException",
        "IndexOutOfBoundsException",
        "StringIndexOutOfBoundsException",
        "NumberFormatException",
        "ArithmeticException",
        "UnsupportedOperationException",
        "ConcurrentModificationException",
        "NoSuchElementException",
        "ClassNotFoundException",
        "NoSuchMethodError",
        "NoClassDefFoundError",
        "NullReferenceException",
        "InvalidCastException",
        "ArgumentNullException",
        "ArgumentException",
        "ArgumentOutOfRangeException",
        "InvalidOperationException",
        "KeyNotFoundException",
        "IndexOutOfRangeException",
        "FormatException",
        "panic",
        "Runtime.ImportModuleError",
        "Runtime.HandlerNotFound",
        "Runtime.UserCodeSyntaxError",
    ];
    if let Some(t) = &line.error_type {
        let last = t.rsplit('.').next().unwrap_or(t);
        if CODE_TYPES.contains(&last) || CODE_TYPES.contains(&t.as_str()) {
            return SuspectedCause::Code;
        }
    }
    if scan.has(Vocab::CodeWords) {
        return SuspectedCause::Code;
    }
    SuspectedCause::Unknown
}

// ---- The vocabulary: every word the analysis looks for, found in one pass ----

/// Asking `contains`/`find` of some 300 words one at a time was most of the analyzer's cost
/// per error line; one Aho-Corasick pass over the lower-cased text finds them all at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Vocab {
    StatusKeys,
    StatusPhrases,
    HostKeys,
    Scheme,
    Upstream,
    Network,
    SdkMarkers,
    AwsNamed,
    AwsCall,
    Throttle,
    /// The words of `DATABASES[i]`.
    Database(usize),
    Resource,
    CodeWords,
}

impl Vocab {
    fn all() -> impl Iterator<Item = Vocab> {
        [
            Vocab::StatusKeys,
            Vocab::StatusPhrases,
            Vocab::HostKeys,
            Vocab::Scheme,
            Vocab::Upstream,
            Vocab::Network,
            Vocab::SdkMarkers,
            Vocab::AwsNamed,
            Vocab::AwsCall,
            Vocab::Throttle,
            Vocab::Resource,
            Vocab::CodeWords,
        ]
        .into_iter()
        .chain((0..DATABASES.len()).map(Vocab::Database))
    }

    fn words(self) -> Vec<&'static str> {
        match self {
            Vocab::StatusKeys => STATUS_KEYS.to_vec(),
            Vocab::StatusPhrases => STATUS_PHRASES.to_vec(),
            Vocab::HostKeys => HOST_KEYS.to_vec(),
            Vocab::Scheme => vec!["://"],
            Vocab::Upstream => vec!["upstream"],
            Vocab::Network => NETWORK_WORDS.to_vec(),
            Vocab::SdkMarkers => SDK_MARKERS.to_vec(),
            Vocab::AwsNamed => AWS_NAMED.iter().map(|(word, _)| *word).collect(),
            Vocab::AwsCall => vec!["when calling the "],
            Vocab::Throttle => THROTTLE_WORDS.to_vec(),
            Vocab::Database(i) => DATABASES[i].0.to_vec(),
            Vocab::Resource => RESOURCE_WORDS.to_vec(),
            Vocab::CodeWords => CODE_WORDS.to_vec(),
        }
    }
}

/// The automaton over every distinct word, and each vocabulary's words as pattern ids.
struct Lexicon {
    automaton: AhoCorasick,
    words: usize,
    lists: Vec<(Vocab, Vec<usize>)>,
}

static LEXICON: LazyLock<Lexicon> = LazyLock::new(|| {
    let mut distinct: Vec<&'static str> = Vec::new();
    let lists = Vocab::all()
        .map(|vocab| {
            let ids = vocab
                .words()
                .into_iter()
                .map(|word| match distinct.iter().position(|w| *w == word) {
                    Some(id) => id,
                    None => {
                        distinct.push(word);
                        distinct.len() - 1
                    }
                })
                .collect();
            (vocab, ids)
        })
        .collect();
    let automaton = AhoCorasick::builder()
        .build(&distinct)
        .expect("the vocabulary is a few hundred short words");
    Lexicon {
        automaton,
        words: distinct.len(),
        lists,
    }
});

/// The lower-cased scan text and where each vocabulary word first occurs in it.
struct Scan<'a> {
    lower: &'a str,
    first_at: Vec<Option<usize>>,
}

impl<'a> Scan<'a> {
    fn new(lower: &'a str) -> Self {
        let lexicon = &*LEXICON;
        let mut first_at = vec![None; lexicon.words];
        for m in lexicon.automaton.find_overlapping_iter(lower) {
            let slot = &mut first_at[m.pattern().as_usize()];
            if slot.is_none_or(|at| m.start() < at) {
                *slot = Some(m.start());
            }
        }
        Scan { lower, first_at }
    }

    fn ids(vocab: Vocab) -> &'static [usize] {
        LEXICON
            .lists
            .iter()
            .find(|(v, _)| *v == vocab)
            .map_or(&[], |(_, ids)| ids.as_slice())
    }

    /// Whether any word of `vocab` occurs.
    fn has(&self, vocab: Vocab) -> bool {
        Self::ids(vocab)
            .iter()
            .any(|id| self.first_at[*id].is_some())
    }

    /// The index (in `vocab`'s list order) of the first of its words that occurs.
    fn first_word(&self, vocab: Vocab) -> Option<usize> {
        Self::ids(vocab)
            .iter()
            .position(|id| self.first_at[*id].is_some())
    }

    /// Where word `i` of `vocab` first occurs (as `str::find` would say).
    fn find(&self, vocab: Vocab, i: usize) -> Option<usize> {
        Self::ids(vocab).get(i).and_then(|id| self.first_at[*id])
    }
}

/// Words after which an HTTP status code follows.
const STATUS_KEYS: &[&str] = &[
    "status code",
    "status_code",
    "statuscode",
    "status",
    "http/1.1",
    "http/1.0",
    "http/2",
    "http",
    "upstream",
    "returned",
    "responded with",
    "response code",
    "code",
];

/// Reason phrases that follow a status code (`503 Service Unavailable`).
const STATUS_PHRASES: &[&str] = &[
    " internal server error",
    " bad gateway",
    " service unavailable",
    " gateway timeout",
    " too many requests",
];

/// Words before a quoted host name.
const HOST_KEYS: &[&str] = &[
    "host=",
    "host \"",
    "host '",
    "server at \"",
    "server on '",
    "server at '",
    "server on \"",
];

/// Words that say a network call failed.
const NETWORK_WORDS: &[&str] = &[
    "econnrefused",
    "econnreset",
    "etimedout",
    "enotfound",
    "eai_again",
    "ehostunreach",
    "enetunreach",
    "epipe",
    "connection refused",
    "connection reset",
    "connection timed out",
    "connect timed out",
    "timed out",
    "timeout",
    "no route to host",
    "network is unreachable",
    "broken pipe",
    "name or service not known",
    "temporary failure in name resolution",
    "could not resolve",
    "getaddrinfo",
    "i/o timeout",
    "tls handshake",
    "ssl",
    "certificate",
    "socket hang up",
    "dial tcp",
    "read tcp",
    "write tcp",
    "unreachable",
    "connection closed",
    "connection aborted",
    "max retries exceeded",
    "failed to connect",
    "unable to connect",
    "could not connect",
    "cannot connect",
    "could not reach",
    "unable to reach",
    "can't connect",
    "connection error",
    "connecterror",
    "connectexception",
    "connectionerror",
    "sockettimeout",
    "unknownhost",
];

/// SDK package prefixes that name an AWS service (`software.amazon.awssdk.services.dynamodb`).
const SDK_MARKERS: &[&str] = &[
    "awssdk.services.",
    "amazonaws.services.",
    "@aws-sdk/client-",
];

/// Words that name an AWS service, and the service.
const AWS_NAMED: &[(&str, &str)] = &[
    ("dynamodb", "dynamodb"),
    ("secrets manager", "secretsmanager"),
    ("secretsmanager", "secretsmanager"),
    ("parameter store", "ssm"),
    ("kinesis", "kinesis"),
    ("firehose", "firehose"),
    ("eventbridge", "events"),
    ("step functions", "states"),
    ("aws.simplequeueservice", "sqs"),
    ("queuedoesnotexist", "sqs"),
    ("nosuchbucket", "s3"),
    ("nosuchkey", "s3"),
    ("s3://", "s3"),
    ("provisionedthroughputexceeded", "dynamodb"),
    ("conditionalcheckfailed", "dynamodb"),
    ("transactioncanceled", "dynamodb"),
    ("kmsinvalidstate", "kms"),
];

/// AWS throttling errors that do not name the service.
const THROTTLE_WORDS: &[&str] = &[
    "throttlingexception",
    "requestlimitexceeded",
    "throttled by aws",
];

/// Words that name a database system, in order of precedence.
const DATABASES: &[(&[&str], &str)] = &[
    (
        &[
            "psycopg",
            "asyncpg",
            "postgres",
            "psqlexception",
            "pg::",
            "pq: ",
            "could not connect to server",
            "connection to server at",
            "sqlstate",
        ],
        "postgresql",
    ),
    (
        &[
            "mysql",
            "mariadb",
            "communications link failure",
            "pymysql",
            "er_access_denied",
            "er_lock_",
            "er_con_count",
        ],
        "mysql",
    ),
    (&["redis"], "redis"),
    (&["mongo"], "mongodb"),
    (
        &[
            "sqlexception",
            "jdbc",
            "hikaripool",
            "sequelize",
            "prisma",
            "deadlock detected",
            "too many connections",
            "sqlalchemy",
            "typeorm",
            "operationalerror",
            "database",
        ],
        "database",
    ),
];

/// Words of a function that ran out of a resource.
const RESOURCE_WORDS: &[&str] = &[
    "out of memory",
    "outofmemory",
    "memoryerror",
    "heap out of memory",
    "enomem",
    "cannot allocate memory",
    "no space left on device",
    "enospc",
    "too many open files",
    "emfile",
    "task timed out",
    "sandbox.timedout",
    "signal: killed",
];

/// Words of a bug in the code.
const CODE_WORDS: &[&str] = &[
    "is not a function",
    "cannot read propert",
    "undefined is not",
    "is not defined",
    "nil pointer dereference",
    "index out of range",
    "unwrap()` on",
    "null pointer",
    "nullpointerexception",
    "object reference not set",
];

#[cfg(test)]
mod vocabulary_tests {
    use super::*;

    #[test]
    fn a_scan_finds_every_word_where_str_find_does() {
        for vocab in Vocab::all() {
            for (i, word) in vocab.words().iter().enumerate() {
                let text = format!("xx {word} yy {word}");
                let scan = Scan::new(&text);
                assert_eq!(scan.find(vocab, i), text.find(word), "{vocab:?} {word:?}");
                assert!(scan.has(vocab), "{vocab:?} {word:?}");
            }
        }
        let scan = Scan::new("all quiet here");
        assert!(Vocab::all().all(|v| !scan.has(v)));
    }

    #[test]
    fn the_first_word_follows_the_lists_order_not_the_texts() {
        let scan = Scan::new("kinesis put failed, then dynamodb too");
        let first = scan.first_word(Vocab::AwsNamed).map(|i| AWS_NAMED[i].1);
        assert_eq!(first, Some("dynamodb"));
    }
}
