//! HTTP/1.1 over a raw connection (RFC 9112), sans-IO: the bytes of a request head, and a
//! response parser that is fed bytes as they arrive and yields what they hold.
//!
//! The edge needs this where the runtime's `fetch` cannot be used: workerd hands a worker an
//! origin's first interim response (`103 Early Hints`, `102 Processing`) as if it were the final
//! one, so the glue asks again over a TCP socket and reads the exchange itself.
//!
//! The parser yields, in order: every interim head (1xx other than 101, with its fields), the
//! final head with its body framing (RFC 9112 §6.3: none for a HEAD request, 204 and 304;
//! chunked, decoded here; `Content-Length`; or until the connection closes), the decoded body in
//! pieces, and the end of the message with any trailer fields. Every input either yields events,
//! asks for more bytes, or is a typed [`ResponseError`]; nothing in here panics, and [`Limits`]
//! bound what a hostile origin can make it hold (head size, field count, interim heads,
//! chunk-size line, body).
//!
//! Choices, where RFC 9112 leaves one:
//! - a head line may end in a bare LF (§2.2 allows recognising it); a CR anywhere else in a head
//!   is an error. Chunk-size lines and chunk data end in CRLF, strictly (a laxer chunk parser is
//!   how request smuggling starts);
//! - obsolete line folding is refused ([`ResponseError::ObsFold`]: §5.2 lets a proxy answer 502),
//!   and so is whitespace between a field name and its colon (§5.1);
//! - the only transfer coding is `chunked` (alone); any other is refused rather than passed on
//!   still coded, and so is `Transfer-Encoding` in an HTTP/1.0 response (§6.1). With chunked,
//!   `Content-Length` is ignored (§6.3). Several `Content-Length` values must all be equal.

use crate::token::is_token;

/// A header or trailer section: lower-case field names with their values, in order, values
/// without surrounding whitespace (bytes: `obs-text` is allowed).
pub type Fields = Vec<(String, Vec<u8>)>;

/// What an origin may make the parser hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of one head (status line, field lines, blank line), and of the trailer section.
    pub head_bytes: usize,
    /// Fields in one head, and in the trailer section.
    pub fields: usize,
    /// Interim heads before the final one.
    pub interim_heads: usize,
    /// Bytes of one chunk-size line with its extensions, CRLF excluded.
    pub chunk_line: usize,
    /// Bytes of decoded body.
    pub body_bytes: u64,
}

impl Limits {
    /// The edge's limits: 64 KiB heads, 128 fields, 16 interim heads, 1 KiB chunk-size lines,
    /// 16 MiB of body (the whole body is held in memory).
    pub const EDGE: Limits = Limits {
        head_bytes: 64 * 1024,
        fields: 128,
        interim_heads: 16,
        chunk_line: 1024,
        body_bytes: 16 << 20,
    };
}

/// Header fields [`request_head`] writes itself; any of these among the given headers is left
/// out (the connection is the edge's: `Connection: close`, and its own framing).
pub const OWN_REQUEST_FIELDS: [&str; 10] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
    "expect",
];

/// Why a request head could not be written (the request is not sent).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The method is not a token.
    #[error("method `{0}` is not an HTTP token")]
    Method(String),
    /// The target is not `/path[?query]` of visible ASCII.
    #[error("the request target is not an absolute path of visible ASCII")]
    Target(String),
    /// The host is not `host[:port]`.
    #[error("host `{0}` is not an authority")]
    Host(String),
    /// A header name is not a token.
    #[error("a header name is not an HTTP token")]
    FieldName(String),
    /// A header value holds CR, LF, NUL or another control character.
    #[error("the value of header {0} holds a control character")]
    FieldValue(String),
}

/// The head of a request to send on a connection of its own: `method target HTTP/1.1`, `Host`,
/// the given headers (less [`OWN_REQUEST_FIELDS`]), `Connection: close`, and `Content-Length`
/// for a body of `body_len` bytes sent after it (a POST, PUT or PATCH without a body gets
/// `Content-Length: 0`, RFC 9110 §8.6). Nothing here is escaped: what cannot be written as it is
/// is an error.
pub fn request_head<'a>(
    method: &str,
    host: &str,
    target: &str,
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    body_len: Option<u64>,
) -> Result<Vec<u8>, RequestError> {
    if !is_token(method.as_bytes()) {
        return Err(RequestError::Method(method.to_string()));
    }
    if !target.starts_with('/') || !target.bytes().all(|c| c.is_ascii_graphic()) {
        return Err(RequestError::Target(target.to_string()));
    }
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-.:[]_".contains(&c));
    if !host_ok {
        return Err(RequestError::Host(host.to_string()));
    }
    let mut out = Vec::with_capacity(256);
    for part in [method, " ", target, " HTTP/1.1\r\nhost: ", host, "\r\n"] {
        out.extend_from_slice(part.as_bytes());
    }
    for (name, value) in headers {
        if !is_token(name.as_bytes()) {
            return Err(RequestError::FieldName(name.to_string()));
        }
        if OWN_REQUEST_FIELDS
            .iter()
            .any(|own| own.eq_ignore_ascii_case(name))
        {
            continue;
        }
        if value.bytes().any(|c| c.is_ascii_control() && c != b'\t') {
            return Err(RequestError::FieldValue(name.to_string()));
        }
        for part in [name.as_bytes(), b": ", trim(value.as_bytes()), b"\r\n"] {
            out.extend_from_slice(part);
        }
    }
    out.extend_from_slice(b"connection: close\r\n");
    let wants_length = ["POST", "PUT", "PATCH"]
        .iter()
        .any(|m| m.eq_ignore_ascii_case(method));
    match body_len {
        Some(n) => out.extend_from_slice(format!("content-length: {n}\r\n").as_bytes()),
        None if wants_length => out.extend_from_slice(b"content-length: 0\r\n"),
        None => {}
    }
    out.extend_from_slice(b"\r\n");
    Ok(out)
}

/// A status line with its header fields: an interim head or the final one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The minor HTTP version (`HTTP/1.0` or `HTTP/1.1`).
    pub minor_version: u8,
    /// The status code, 100–999.
    pub status: u16,
    /// The reason phrase as sent (possibly empty).
    pub reason: Vec<u8>,
    /// The header fields.
    pub fields: Fields,
}

impl Head {
    /// The values of the fields named `name` (lower-case), in order.
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.fields
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// Whether the head has a field named `name` (lower-case).
    pub fn has(&self, name: &str) -> bool {
        self.fields.iter().any(|(n, _)| n == name)
    }
}

/// How the final response's body is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body: the response to a HEAD request, a 204 or a 304.
    None,
    /// Exactly this many bytes (`Content-Length`).
    Length(u64),
    /// The chunked transfer coding (decoded by the parser).
    Chunked,
    /// Everything until the origin closes the connection.
    UntilClose,
}

/// What the bytes fed so far hold, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// An interim head (1xx other than 101: 100 Continue, 102 Processing, 103 Early Hints…).
    Interim(Head),
    /// The final head, and how its body is delimited.
    Final(Head, Framing),
    /// A piece of the body, transfer coding removed.
    Body(Vec<u8>),
    /// The response is complete; the trailer fields of a chunked body (else none).
    End(Fields),
}

/// Why a response could not be read. Once returned, every later call returns it again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    /// A head (or the trailer section) is over [`Limits::head_bytes`].
    #[error("response head over {0} bytes")]
    HeadTooLarge(usize),
    /// A head (or the trailer section) has more than [`Limits::fields`] fields.
    #[error("more than {0} header fields")]
    TooManyFields(usize),
    /// More than [`Limits::interim_heads`] interim heads.
    #[error("more than {0} interim responses")]
    TooManyInterim(usize),
    /// The status line is not `HTTP/1.x NNN [reason]`.
    #[error("malformed status line")]
    StatusLine,
    /// `101 Switching Protocols`, although the request asked for no upgrade.
    #[error("101 Switching Protocols to a request that asked for no upgrade")]
    SwitchingProtocols,
    /// A field line is not `name: value` (a stray CR, a control character, a space before the
    /// colon, no colon).
    #[error("malformed header field line")]
    FieldLine,
    /// A field line continued on the next (obsolete line folding).
    #[error("obsolete line folding in a header field")]
    ObsFold,
    /// `Content-Length` is not a number, or its values differ.
    #[error("invalid or conflicting Content-Length")]
    ContentLength,
    /// A transfer coding other than `chunked` alone, or one in an HTTP/1.0 response.
    #[error("unsupported Transfer-Encoding (only chunked is decoded)")]
    TransferEncoding,
    /// A chunk-size line over [`Limits::chunk_line`] bytes.
    #[error("chunk-size line over {0} bytes")]
    ChunkLineTooLong(usize),
    /// A chunk-size line that is not hex digits with optional extensions and CRLF.
    #[error("malformed chunk-size line")]
    ChunkSize,
    /// Chunk data not followed by CRLF.
    #[error("chunk data not followed by CRLF")]
    ChunkEnd,
    /// The body is over [`Limits::body_bytes`].
    #[error("body over {0} bytes")]
    BodyTooLarge(u64),
    /// The connection closed before the response was complete.
    #[error("connection closed before the response was complete")]
    Truncated,
}

/// Where the parser is in the response.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Head,
    Length(u64),
    ChunkSize,
    ChunkData(u64),
    ChunkDataEnd,
    Trailers,
    UntilClose,
    Complete(Fields),
    Done,
    Failed(ResponseError),
}

/// Reads one response from bytes fed as they arrive: [`feed`](Self::feed) them, then call
/// [`next_event`](Self::next_event) until it returns `Ok(None)` (more bytes needed); at the end of the
/// connection call [`finish`](Self::finish) and read the rest.
#[derive(Debug, Clone)]
pub struct ResponseParser {
    limits: Limits,
    /// The request was HEAD: the final response has no body, whatever its fields say.
    head_request: bool,
    buf: Vec<u8>,
    /// Bytes of `buf` before this are consumed.
    pos: usize,
    /// Looking for a head's blank line: bytes before this are scanned…
    scan: usize,
    /// …and the current line starts here.
    line_start: usize,
    eof: bool,
    interim: usize,
    body: u64,
    state: State,
}

impl ResponseParser {
    /// A parser for the response to a request; `head_request` when it was a HEAD request.
    pub fn new(limits: Limits, head_request: bool) -> Self {
        ResponseParser {
            limits,
            head_request,
            buf: Vec::new(),
            pos: 0,
            scan: 0,
            line_start: 0,
            eof: false,
            interim: 0,
            body: 0,
            state: State::Head,
        }
    }

    /// Takes the next bytes from the connection.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.pos > 0 {
            self.buf.drain(..self.pos.min(self.buf.len()));
            self.scan = self.scan.saturating_sub(self.pos);
            self.line_start = self.line_start.saturating_sub(self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The connection has ended: no more bytes will come.
    pub fn finish(&mut self) {
        self.eof = true;
    }

    /// Whether the whole response has been read ([`Event::End`] was returned).
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// The next event, `Ok(None)` when more bytes are needed (or after [`Event::End`]). After
    /// [`finish`](Self::finish), it never asks for more: it returns the remaining events, then
    /// the end or an error.
    pub fn next_event(&mut self) -> Result<Option<Event>, ResponseError> {
        if let State::Failed(e) = &self.state {
            return Err(e.clone());
        }
        let result = self.step();
        if let Err(e) = &result {
            self.state = State::Failed(e.clone());
        }
        result
    }

    fn available(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    fn slice(&self, from: usize, to: usize) -> &[u8] {
        self.buf.get(from..to).unwrap_or_default()
    }

    /// Nothing to return yet: wait for bytes, or fail if none will come.
    fn wait(&self) -> Result<Option<Event>, ResponseError> {
        if self.eof {
            Err(ResponseError::Truncated)
        } else {
            Ok(None)
        }
    }

    fn step(&mut self) -> Result<Option<Event>, ResponseError> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Head => {
                self.state = State::Head;
                match self.section_end()? {
                    Some(end) => self.head(end).map(Some),
                    None => self.wait(),
                }
            }
            State::Length(0) | State::UntilClose if self.eof && self.available() == 0 => {
                self.state = State::Done;
                Ok(Some(Event::End(Vec::new())))
            }
            State::Length(0) => {
                self.state = State::Done;
                Ok(Some(Event::End(Vec::new())))
            }
            State::Length(left) => {
                self.state = State::Length(left);
                match self.take(left) {
                    Some(data) => {
                        self.state = State::Length(left.saturating_sub(data.len() as u64));
                        Ok(Some(Event::Body(data)))
                    }
                    None => self.wait(),
                }
            }
            State::UntilClose => {
                self.state = State::UntilClose;
                match self.take(u64::MAX) {
                    Some(data) => {
                        self.count_body(data.len() as u64)?;
                        Ok(Some(Event::Body(data)))
                    }
                    None => Ok(None),
                }
            }
            State::ChunkSize => {
                self.state = State::ChunkSize;
                match self.chunk_size()? {
                    Some(0) => {
                        self.state = State::Trailers;
                        self.scan = self.pos;
                        self.line_start = self.pos;
                        self.step()
                    }
                    Some(size) => {
                        self.count_body(size)?;
                        self.state = State::ChunkData(size);
                        self.step()
                    }
                    None => self.wait(),
                }
            }
            State::ChunkData(left) => {
                self.state = State::ChunkData(left);
                match self.take(left) {
                    Some(data) => {
                        let left = left.saturating_sub(data.len() as u64);
                        self.state = if left == 0 {
                            State::ChunkDataEnd
                        } else {
                            State::ChunkData(left)
                        };
                        Ok(Some(Event::Body(data)))
                    }
                    None => self.wait(),
                }
            }
            State::ChunkDataEnd => {
                self.state = State::ChunkDataEnd;
                let got = self.slice(self.pos, self.pos.saturating_add(2));
                if !b"\r\n".starts_with(got) {
                    return Err(ResponseError::ChunkEnd);
                }
                if got.len() < 2 {
                    return self.wait();
                }
                self.pos += 2;
                self.state = State::ChunkSize;
                self.step()
            }
            State::Trailers => {
                self.state = State::Trailers;
                let Some(end) = self.section_end()? else {
                    return self.wait();
                };
                let section = self.slice(self.pos, end);
                let mut fields = Vec::new();
                for line in lines(section) {
                    let line = line?;
                    if !line.is_empty() {
                        push_field(&mut fields, line, self.limits.fields)?;
                    }
                }
                self.pos = end;
                self.state = State::Done;
                Ok(Some(Event::End(fields)))
            }
            State::Complete(trailers) => Ok(Some(Event::End(trailers))),
            State::Done => Ok(None),
            State::Failed(e) => {
                self.state = State::Failed(e.clone());
                Err(e)
            }
        }
    }

    /// Up to `max` available body bytes, consumed; `None` when there are none.
    fn take(&mut self, max: u64) -> Option<Vec<u8>> {
        let n = usize::try_from(max)
            .unwrap_or(usize::MAX)
            .min(self.available());
        if n == 0 {
            return None;
        }
        let data = self.slice(self.pos, self.pos + n).to_vec();
        self.pos += n;
        Some(data)
    }

    fn count_body(&mut self, n: u64) -> Result<(), ResponseError> {
        self.body = self.body.saturating_add(n);
        if self.body > self.limits.body_bytes {
            return Err(ResponseError::BodyTooLarge(self.limits.body_bytes));
        }
        Ok(())
    }

    /// The end (exclusive) of the head or trailer section starting at `pos` — its blank line
    /// included — once it is all there. Scanning resumes where it stopped, so bytes that arrive
    /// one at a time cost no more than bytes that arrive at once.
    fn section_end(&mut self) -> Result<Option<usize>, ResponseError> {
        let limit = self.limits.head_bytes;
        loop {
            let rest = self.slice(self.scan, self.buf.len());
            let Some(lf) = rest.iter().position(|&c| c == b'\n') else {
                self.scan = self.buf.len();
                if self.scan.saturating_sub(self.pos) > limit {
                    return Err(ResponseError::HeadTooLarge(limit));
                }
                return Ok(None);
            };
            let lf = self.scan + lf;
            let line = self.slice(self.line_start, lf);
            let blank = line.is_empty() || line == b"\r";
            self.scan = lf + 1;
            self.line_start = lf + 1;
            if self.scan.saturating_sub(self.pos) > limit {
                return Err(ResponseError::HeadTooLarge(limit));
            }
            if blank {
                return Ok(Some(self.scan));
            }
        }
    }

    /// Parses the head in `pos..end` and moves on past it.
    fn head(&mut self, end: usize) -> Result<Event, ResponseError> {
        let bytes = self.slice(self.pos, end);
        let mut lines = lines(bytes);
        let status_line = lines
            .next()
            .and_then(Result::ok)
            .ok_or(ResponseError::StatusLine)?;
        let (minor_version, status, reason) = status_line_parts(status_line)?;
        let mut fields = Vec::new();
        for line in lines {
            let line = line?;
            if !line.is_empty() {
                push_field(&mut fields, line, self.limits.fields)?;
            }
        }
        let head = Head {
            minor_version,
            status,
            reason: reason.to_vec(),
            fields,
        };
        self.pos = end;
        self.scan = end;
        self.line_start = end;
        if status == 101 {
            return Err(ResponseError::SwitchingProtocols);
        }
        if status < 200 {
            self.interim += 1;
            if self.interim > self.limits.interim_heads {
                return Err(ResponseError::TooManyInterim(self.limits.interim_heads));
            }
            return Ok(Event::Interim(head));
        }
        let framing = framing(&head, self.head_request)?;
        self.state = match framing {
            Framing::None => State::Complete(Vec::new()),
            Framing::Length(n) => {
                self.count_body(n)?;
                State::Length(n)
            }
            Framing::Chunked => State::ChunkSize,
            Framing::UntilClose => State::UntilClose,
        };
        Ok(Event::Final(head, framing))
    }

    /// The size on a complete chunk-size line at `pos` (consumed), `None` until it is there.
    fn chunk_size(&mut self) -> Result<Option<u64>, ResponseError> {
        let limit = self.limits.chunk_line;
        let window = self.slice(self.pos, self.buf.len());
        let Some(lf) = window
            .iter()
            .take(limit.saturating_add(2))
            .position(|&c| c == b'\n')
        else {
            if window.len() > limit.saturating_add(1) {
                return Err(ResponseError::ChunkLineTooLong(limit));
            }
            return Ok(None);
        };
        let line = window
            .get(..lf)
            .and_then(|l| l.strip_suffix(b"\r"))
            .ok_or(ResponseError::ChunkSize)?;
        if line.len() > limit {
            return Err(ResponseError::ChunkLineTooLong(limit));
        }
        let digits = line.iter().take_while(|c| c.is_ascii_hexdigit()).count();
        let (hex, ext) = line
            .split_at_checked(digits)
            .ok_or(ResponseError::ChunkSize)?;
        if hex.is_empty() {
            return Err(ResponseError::ChunkSize);
        }
        let mut size: u64 = 0;
        for &c in hex {
            let d = u64::from(char::from(c).to_digit(16).ok_or(ResponseError::ChunkSize)?);
            size = size
                .checked_mul(16)
                .and_then(|s| s.checked_add(d))
                .ok_or(ResponseError::ChunkSize)?;
        }
        // chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] ): read past, never used.
        let ext = trim_start(ext);
        if !ext.is_empty()
            && (ext.first() != Some(&b';') || ext.iter().any(|&c| is_ctl(c) && c != b'\t'))
        {
            return Err(ResponseError::ChunkSize);
        }
        self.pos += lf + 1;
        Ok(Some(size))
    }
}

/// The lines of a head, each without its LF and the CR before it; a stray CR is an error.
fn lines(bytes: &[u8]) -> impl Iterator<Item = Result<&[u8], ResponseError>> {
    bytes
        .strip_suffix(b"\n")
        .unwrap_or(bytes)
        .split(|&c| c == b'\n')
        .map(|line| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.contains(&b'\r') {
                Err(ResponseError::FieldLine)
            } else {
                Ok(line)
            }
        })
}

/// `HTTP/1.x NNN [reason]` → (x, NNN, reason).
fn status_line_parts(line: &[u8]) -> Result<(u8, u16, &[u8]), ResponseError> {
    let rest = line
        .strip_prefix(b"HTTP/1.")
        .ok_or(ResponseError::StatusLine)?;
    let (&minor, rest) = rest.split_first().ok_or(ResponseError::StatusLine)?;
    let rest = rest.strip_prefix(b" ").ok_or(ResponseError::StatusLine)?;
    if !minor.is_ascii_digit() {
        return Err(ResponseError::StatusLine);
    }
    let (code, reason) = rest.split_at_checked(3).ok_or(ResponseError::StatusLine)?;
    let mut status: u16 = 0;
    for &c in code {
        if !c.is_ascii_digit() {
            return Err(ResponseError::StatusLine);
        }
        status = status * 10 + u16::from(c - b'0');
    }
    if status < 100 {
        return Err(ResponseError::StatusLine);
    }
    // Some servers leave out the space before an empty reason phrase.
    let reason = match reason.split_first() {
        None => reason,
        Some((b' ', r)) => r,
        Some(_) => return Err(ResponseError::StatusLine),
    };
    if reason.iter().any(|&c| is_ctl(c) && c != b'\t') {
        return Err(ResponseError::StatusLine);
    }
    Ok((minor - b'0', status, reason))
}

/// Adds the field on `line` to `fields`, within `limit` fields.
fn push_field(fields: &mut Fields, line: &[u8], limit: usize) -> Result<(), ResponseError> {
    if matches!(line.first(), Some(b' ' | b'\t')) {
        return Err(ResponseError::ObsFold);
    }
    let colon = line
        .iter()
        .position(|&c| c == b':')
        .ok_or(ResponseError::FieldLine)?;
    let (name, value) = line
        .split_at_checked(colon)
        .ok_or(ResponseError::FieldLine)?;
    let value = trim(value.get(1..).unwrap_or_default());
    if !is_token(name) || value.iter().any(|&c| is_ctl(c) && c != b'\t') {
        return Err(ResponseError::FieldLine);
    }
    if fields.len() >= limit {
        return Err(ResponseError::TooManyFields(limit));
    }
    let name = name.iter().map(|&c| char::from(c.to_ascii_lowercase()));
    fields.push((name.collect(), value.to_vec()));
    Ok(())
}

/// How the final response `head` is framed (RFC 9112 §6.3).
fn framing(head: &Head, head_request: bool) -> Result<Framing, ResponseError> {
    if head_request || head.status == 204 || head.status == 304 {
        return Ok(Framing::None);
    }
    if head.has("transfer-encoding") {
        let mut codings = head
            .values("transfer-encoding")
            .flat_map(|v| v.split(|&c| c == b','))
            .map(trim)
            .filter(|c| !c.is_empty());
        let chunked_alone = codings
            .next()
            .is_some_and(|c| c.eq_ignore_ascii_case(b"chunked"))
            && codings.next().is_none();
        if head.minor_version == 0 || !chunked_alone {
            return Err(ResponseError::TransferEncoding);
        }
        return Ok(Framing::Chunked);
    }
    let mut length = None;
    for value in head
        .values("content-length")
        .flat_map(|v| v.split(|&c| c == b','))
    {
        let n = content_length(trim(value)).ok_or(ResponseError::ContentLength)?;
        if length.is_some_and(|l| l != n) {
            return Err(ResponseError::ContentLength);
        }
        length = Some(n);
    }
    Ok(length.map_or(Framing::UntilClose, Framing::Length))
}

/// `1*DIGIT` as a number, `None` when it is not one or overflows.
fn content_length(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |n, &c| {
        if c.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(c - b'0'))
        } else {
            None
        }
    })
}

fn is_ctl(c: u8) -> bool {
    c < 0x20 || c == 0x7f
}

/// `s` without leading and trailing spaces and tabs (optional whitespace).
fn trim(s: &[u8]) -> &[u8] {
    trim_end(trim_start(s))
}

fn trim_start(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|c| matches!(c, b' ' | b'\t')).count();
    s.get(n..).unwrap_or_default()
}

fn trim_end(s: &[u8]) -> &[u8] {
    let n = s
        .iter()
        .rev()
        .take_while(|c| matches!(c, b' ' | b'\t'))
        .count();
    s.get(..s.len().saturating_sub(n)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ResponseError as E;

    /// Small limits, so each one is easy to reach.
    const LIMITS: Limits = Limits {
        head_bytes: 256,
        fields: 8,
        interim_heads: 3,
        chunk_line: 32,
        body_bytes: 64,
    };

    /// A case: its name, the bytes from the origin, and the events as lines or the error.
    type Case<'a> = (&'a str, &'a [u8], Result<&'a [&'a str], E>);

    /// A request a head cannot be written for: method, host, target, one field, the error.
    type BadRequest<'a> = (&'a str, &'a str, &'a str, (&'a str, &'a str), RequestError);

    /// The events of a whole response as lines (body pieces joined), or the error.
    fn run<'a>(
        limits: Limits,
        head_request: bool,
        pieces: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Vec<String>, ResponseError> {
        let mut p = ResponseParser::new(limits, head_request);
        let mut events = Vec::new();
        for piece in pieces {
            p.feed(piece);
            while let Some(e) = p.next_event()? {
                events.push(e);
            }
        }
        p.finish();
        while let Some(e) = p.next_event()? {
            events.push(e);
        }
        assert!(
            p.is_done(),
            "after finish, next_event() ends with End or an error"
        );
        Ok(summary(events))
    }

    fn fields(f: &Fields) -> String {
        let f: Vec<String> = f
            .iter()
            .map(|(n, v)| format!("{n}: {}", String::from_utf8_lossy(v)))
            .collect();
        format!("[{}]", f.join(" | "))
    }

    fn summary(events: Vec<Event>) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut body: Option<Vec<u8>> = None;
        for e in events {
            if let Event::Body(b) = e {
                body.get_or_insert_with(Vec::new).extend(b);
                continue;
            }
            if let Some(b) = body.take() {
                out.push(format!("body {:?}", String::from_utf8_lossy(&b)));
            }
            out.push(match e {
                Event::Interim(h) => format!("{} {}", h.status, fields(&h.fields)),
                Event::Final(h, f) => format!(
                    "{} {} {f:?} {}",
                    h.status,
                    String::from_utf8_lossy(&h.reason),
                    fields(&h.fields)
                ),
                Event::End(t) => format!("end {}", fields(&t)),
                Event::Body(_) => unreachable!(),
            });
        }
        out
    }

    /// Runs `input` whole, split in two at every byte, and one byte at a time: all must agree.
    fn check(
        name: &str,
        limits: Limits,
        head_request: bool,
        input: &[u8],
    ) -> Result<Vec<String>, E> {
        let whole = run(limits, head_request, [input]);
        for cut in 0..=input.len() {
            let (a, b) = input.split_at(cut);
            assert_eq!(
                run(limits, head_request, [a, b]),
                whole,
                "{name}: split at {cut}"
            );
        }
        assert_eq!(
            run(limits, head_request, input.chunks(1)),
            whole,
            "{name}: byte by byte"
        );
        whole
    }

    #[test]
    fn responses() {
        let cases: &[Case] = &[
            (
                "RFC 9110 §3.9 example",
                b"HTTP/1.1 200 OK\r\nDate: Mon, 27 Jul 2009 12:28:53 GMT\r\nServer: Apache\r\n\
                  Last-Modified: Wed, 22 Jul 2009 19:15:56 GMT\r\nETag: \"34aa387-d-1568eb00\"\r\n\
                  Accept-Ranges: bytes\r\nContent-Length: 51\r\nVary: Accept-Encoding\r\n\
                  Content-Type: text/plain\r\n\r\nHello World! My content includes a trailing CRLF.\r\n",
                Ok(&[
                    "200 OK Length(51) [date: Mon, 27 Jul 2009 12:28:53 GMT | server: Apache | last-modified: Wed, 22 Jul 2009 19:15:56 GMT | etag: \"34aa387-d-1568eb00\" | accept-ranges: bytes | content-length: 51 | vary: Accept-Encoding | content-type: text/plain]",
                    "body \"Hello World! My content includes a trailing CRLF.\\r\\n\"",
                    "end []",
                ]),
            ),
            (
                "RFC 8297 §2: 103 Early Hints, then the final response",
                b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\
                  Link: </script.js>; rel=preload; as=script\r\n\r\n\
                  HTTP/1.1 200 OK\r\nDate: Fri, 26 May 2017 10:02:11 GMT\r\nContent-Length: 15\r\n\
                  Content-Type: text/html; charset=utf-8\r\n\r\n<!doctype html>",
                Ok(&[
                    "103 [link: </style.css>; rel=preload; as=style | link: </script.js>; rel=preload; as=script]",
                    "200 OK Length(15) [date: Fri, 26 May 2017 10:02:11 GMT | content-length: 15 | content-type: text/html; charset=utf-8]",
                    "body \"<!doctype html>\"",
                    "end []",
                ]),
            ),
            (
                "102 Processing, then 200",
                b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
                Ok(&["102 []", "200 OK Length(2) [content-length: 2]", "body \"ok\"", "end []"]),
            ),
            (
                "interim heads up to the limit",
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n\
                  HTTP/1.1 103 Early Hints\r\nLink: </b>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
                Ok(&["100 []", "103 [link: </a>]", "103 [link: </b>]", "204 No Content None []", "end []"]),
            ),
            (
                "one interim head too many",
                b"HTTP/1.1 103 A\r\n\r\nHTTP/1.1 103 A\r\n\r\nHTTP/1.1 103 A\r\n\r\nHTTP/1.1 103 A\r\n\r\n",
                Err(E::TooManyInterim(3)),
            ),
            (
                "chunked (the classic example)",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                  4\r\nWiki\r\n7\r\npedia i\r\nB\r\nn \r\nchunks.\r\n0\r\n\r\n",
                Ok(&[
                    "200 OK Chunked [transfer-encoding: chunked]",
                    "body \"Wikipedia in \\r\\nchunks.\"",
                    "end []",
                ]),
            ),
            (
                "chunked with extensions (BWS, quoted values) and trailers",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: Expires\r\n\r\n\
                  5 ;name=value;q=\"a;b\"\r\nhello\r\n000A\r\n0123456789\r\n0;last\r\n\
                  Expires: never\r\nX-Sum:  1 \r\n\r\n",
                Ok(&[
                    "200 OK Chunked [transfer-encoding: chunked | trailer: Expires]",
                    "body \"hello0123456789\"",
                    "end [expires: never | x-sum: 1]",
                ]),
            ),
            (
                "chunked wins over Content-Length (RFC 9112 §6.3)",
                b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: CHUNKED\r\n\r\n2\r\nok\r\n0\r\n\r\n",
                Ok(&[
                    "200 OK Chunked [content-length: 100 | transfer-encoding: CHUNKED]",
                    "body \"ok\"",
                    "end []",
                ]),
            ),
            (
                "Content-Length values that agree",
                b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok",
                Ok(&["200 OK Length(2) [content-length: 2, 2 | content-length: 2]", "body \"ok\"", "end []"]),
            ),
            (
                "bytes after the response are not part of it",
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\r\n",
                Ok(&["200 OK Length(2) [content-length: 2]", "body \"ok\"", "end []"]),
            ),
            (
                "empty Content-Length body",
                b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
                Ok(&["200 OK Length(0) [content-length: 0]", "end []"]),
            ),
            (
                "until close (HTTP/1.0, no length)",
                b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it",
                Ok(&["200 OK UntilClose [content-type: text/plain]", "body \"all of it\"", "end []"]),
            ),
            (
                "until close, empty",
                b"HTTP/1.1 200 OK\r\n\r\n",
                Ok(&["200 OK UntilClose []", "end []"]),
            ),
            (
                "204 and 304 have no body whatever their fields say",
                b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\nETag: \"x\"\r\n\r\n",
                Ok(&["304 Not Modified None [content-length: 10 | etag: \"x\"]", "end []"]),
            ),
            (
                "bare LF line ends in a head, no reason phrase, obs-text in the reason",
                b"HTTP/1.1 103\nLink: </x>\n\nHTTP/1.1 200 \xe9t\xe9\nContent-Length: 2\n\nok",
                Ok(&["103 [link: </x>]", "200 \u{fffd}t\u{fffd} Length(2) [content-length: 2]", "body \"ok\"", "end []"]),
            ),
            (
                "a status outside 200-599 is still a final head (the caller judges it)",
                b"HTTP/1.1 999 Weird\r\nContent-Length: 2\r\n\r\nok",
                Ok(&["999 Weird Length(2) [content-length: 2]", "body \"ok\"", "end []"]),
            ),
            ("nothing at all", b"", Err(E::Truncated)),
            ("a head cut short", b"HTTP/1.1 200 OK\r\nContent-Le", Err(E::Truncated)),
            ("a body cut short", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nok", Err(E::Truncated)),
            (
                "a chunked body without its last chunk",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n",
                Err(E::Truncated),
            ),
            (
                "trailers cut short",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: y\r\n",
                Err(E::Truncated),
            ),
            ("HTTP/2 status line", b"HTTP/2 200 OK\r\n\r\n", Err(E::StatusLine)),
            ("two-digit status", b"HTTP/1.1 20 OK\r\n\r\n", Err(E::StatusLine)),
            ("four-digit status", b"HTTP/1.1 2000 OK\r\n\r\n", Err(E::StatusLine)),
            ("status under 100", b"HTTP/1.1 099 Low\r\n\r\n", Err(E::StatusLine)),
            ("not HTTP", b"ICY 200 OK\r\n\r\n", Err(E::StatusLine)),
            ("empty line before the status line", b"\r\nHTTP/1.1 200 OK\r\n\r\n", Err(E::StatusLine)),
            ("control character in the reason", b"HTTP/1.1 200 O\x01K\r\n\r\n", Err(E::StatusLine)),
            ("stray CR in the status line", b"HTTP/1.1 200 O\rK\r\n\r\n", Err(E::StatusLine)),
            (
                "101 without an upgrade",
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
                Err(E::SwitchingProtocols),
            ),
            ("obs-fold", b"HTTP/1.1 200 OK\r\nX: a\r\n  b\r\n\r\n", Err(E::ObsFold)),
            ("space before the colon", b"HTTP/1.1 200 OK\r\nX : a\r\n\r\n", Err(E::FieldLine)),
            ("no colon", b"HTTP/1.1 200 OK\r\nX a\r\n\r\n", Err(E::FieldLine)),
            ("empty field name", b"HTTP/1.1 200 OK\r\n: a\r\n\r\n", Err(E::FieldLine)),
            ("NUL in a value", b"HTTP/1.1 200 OK\r\nX: a\x00b\r\n\r\n", Err(E::FieldLine)),
            ("stray CR in a value", b"HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", Err(E::FieldLine)),
            (
                "too many fields",
                b"HTTP/1.1 200 OK\r\nA: 1\r\nA: 2\r\nA: 3\r\nA: 4\r\nA: 5\r\nA: 6\r\nA: 7\r\nA: 8\r\nA: 9\r\n\r\n",
                Err(E::TooManyFields(8)),
            ),
            (
                "Content-Length values that differ",
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
                Err(E::ContentLength),
            ),
            ("Content-Length list that differs", b"HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\n", Err(E::ContentLength)),
            ("signed Content-Length", b"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok", Err(E::ContentLength)),
            ("empty Content-Length", b"HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", Err(E::ContentLength)),
            (
                "Content-Length past u64",
                b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
                Err(E::ContentLength),
            ),
            ("Content-Length over the body limit", b"HTTP/1.1 200 OK\r\nContent-Length: 65\r\n\r\n", Err(E::BodyTooLarge(64))),
            ("gzip transfer coding", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", Err(E::TransferEncoding)),
            (
                "chunked after another coding",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                Err(E::TransferEncoding),
            ),
            (
                "chunked twice",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
                Err(E::TransferEncoding),
            ),
            (
                "Transfer-Encoding in HTTP/1.0 (RFC 9112 §6.1)",
                b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                Err(E::TransferEncoding),
            ),
            ("chunk size past u64", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n", Err(E::ChunkSize)),
            ("negative chunk size", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n", Err(E::ChunkSize)),
            ("0x chunk size", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\n", Err(E::ChunkSize)),
            ("space before the chunk size", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n 5\r\n", Err(E::ChunkSize)),
            ("junk after the chunk size", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 x\r\n", Err(E::ChunkSize)),
            ("bare LF after the chunk size", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n", Err(E::ChunkSize)),
            (
                "control character in a chunk extension",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a\x00\r\n",
                Err(E::ChunkSize),
            ),
            (
                "chunk-size line over the limit",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\nhello\r\n0\r\n\r\n",
                Err(E::ChunkLineTooLong(32)),
            ),
            (
                "chunk data longer than its size",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokk\r\n0\r\n\r\n",
                Err(E::ChunkEnd),
            ),
            (
                "chunked body over the body limit",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n0123456789abcdef0123456789abcdef\r\n21\r\n",
                Err(E::BodyTooLarge(64)),
            ),
            (
                "obs-fold in the trailers",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: a\r\n b\r\n\r\n",
                Err(E::ObsFold),
            ),
        ];
        for (name, input, expect) in cases {
            let expect = expect
                .clone()
                .map(|l| l.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            assert_eq!(check(name, LIMITS, false, input), expect, "{name}");
        }
    }

    #[test]
    fn a_head_request_has_no_body_whatever_the_fields_say() {
        let input = b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
        assert_eq!(
            check("HEAD", LIMITS, true, input),
            Ok(vec![
                "103 [link: </a>]".to_string(),
                "200 OK None [content-length: 1000]".to_string(),
                "end []".to_string(),
            ])
        );
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(
            check("HEAD chunked", LIMITS, true, chunked),
            Ok(vec![
                "200 OK None [transfer-encoding: chunked]".to_string(),
                "end []".to_string()
            ])
        );
    }

    #[test]
    fn head_limit_counts_every_byte_of_a_head() {
        let fits = format!("HTTP/1.1 200 OK\r\nX: {}\r\n\r\n", "a".repeat(256 - 24));
        assert_eq!(fits.len(), 256);
        assert!(check("fits", LIMITS, false, fits.as_bytes()).is_ok());
        let over = format!("HTTP/1.1 200 OK\r\nX: {}\r\n\r\n", "a".repeat(256 - 23));
        assert_eq!(
            check("over", LIMITS, false, over.as_bytes()),
            Err(E::HeadTooLarge(256))
        );
        let endless = "HTTP/1.1 200 OK\r\nX: ".to_string() + &"a".repeat(1000);
        assert_eq!(
            check("endless", LIMITS, false, endless.as_bytes()),
            Err(E::HeadTooLarge(256))
        );
        let trailers = format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: {}\r\n\r\n",
            "a".repeat(300)
        );
        assert_eq!(
            check("trailers", LIMITS, false, trailers.as_bytes()),
            Err(E::HeadTooLarge(256))
        );
    }

    #[test]
    fn until_close_bodies_are_bounded() {
        let mut input = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
        input.extend([b'x'; 65]);
        assert_eq!(run(LIMITS, false, [&input[..]]), Err(E::BodyTooLarge(64)));
    }

    #[test]
    fn errors_are_sticky() {
        let mut p = ResponseParser::new(LIMITS, false);
        p.feed(b"HTTP/1.1 20 OK\r\n\r\n");
        assert_eq!(p.next_event(), Err(E::StatusLine));
        p.feed(b"HTTP/1.1 200 OK\r\n\r\n");
        p.finish();
        assert_eq!(p.next_event(), Err(E::StatusLine));
        assert!(!p.is_done());
    }

    #[test]
    fn edge_limits_take_real_responses() {
        let mut input = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..100 {
            input.extend(format!("X-Field-{i}: {}\r\n", "v".repeat(200)).as_bytes());
        }
        input.extend(b"Transfer-Encoding: chunked\r\n\r\n");
        let chunk = vec![b'z'; 1 << 20];
        for _ in 0..16 {
            input.extend(format!("{:x}\r\n", chunk.len()).as_bytes());
            input.extend(&chunk);
            input.extend(b"\r\n");
        }
        input.extend(b"0\r\n\r\n");
        let mut p = ResponseParser::new(Limits::EDGE, false);
        let mut body = 0;
        for piece in input.chunks(64 * 1024 + 7) {
            p.feed(piece);
            while let Some(e) = p.next_event().expect("valid") {
                if let Event::Body(b) = e {
                    body += b.len();
                }
            }
        }
        assert!(p.is_done());
        assert_eq!(body, 16 << 20, "exactly the body limit is allowed");
    }

    #[test]
    fn a_head_dripping_in_one_byte_at_a_time_is_scanned_once() {
        // 60 KiB of head, one byte per feed: linear, not quadratic (this would take minutes).
        let head = format!(
            "HTTP/1.1 204 No Content\r\nX: {}\r\n\r\n",
            "a".repeat(60 * 1024)
        );
        let mut p = ResponseParser::new(Limits::EDGE, false);
        let mut events = 0;
        for b in head.as_bytes().chunks(1) {
            p.feed(b);
            while p.next_event().expect("valid").is_some() {
                events += 1;
            }
        }
        assert_eq!(events, 2);
        assert!(p.is_done());
    }

    /// Arbitrary bytes, and HTTP-shaped fragments in arbitrary order, fed in arbitrary pieces:
    /// always an end or an error, never a panic, never a request for more after `finish`.
    #[test]
    fn hostile_input_never_panics() {
        const PARTS: [&[u8]; 24] = [
            b"HTTP/1.1 ",
            b"HTTP/1.0 ",
            b"103 Early Hints",
            b"200 OK",
            b"100",
            b"101",
            b"204",
            b"\r\n",
            b"\n",
            b"\r",
            b"Content-Length: ",
            b"Transfer-Encoding: chunked",
            b"0",
            b"5",
            b"ffffffffffffffffff",
            b";ext=\"x\"",
            b" ",
            b":",
            b"X-A",
            b"\x00",
            b"\x7f",
            b"\xff",
            b"hello",
            b"\r\n\r\n",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut rand = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for round in 0..20_000 {
            let mut input = Vec::new();
            for _ in 0..rand(40) {
                if round % 4 == 0 {
                    input.push(rand(256) as u8);
                } else {
                    input.extend_from_slice(PARTS[rand(PARTS.len())]);
                }
            }
            let mut p = ResponseParser::new(LIMITS, rand(2) == 0);
            let mut rest = &input[..];
            let mut failed = false;
            while !rest.is_empty() && !failed {
                let (piece, after) = rest.split_at(1 + rand(rest.len()));
                rest = after;
                p.feed(piece);
                loop {
                    match p.next_event() {
                        Ok(Some(_)) => {}
                        Ok(None) => break,
                        Err(_) => {
                            failed = true;
                            break;
                        }
                    }
                }
            }
            p.finish();
            let mut steps = 0;
            loop {
                steps += 1;
                assert!(steps < 10_000, "no end after finish: {input:?}");
                match p.next_event() {
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        assert!(p.is_done(), "asked for more after finish: {input:?}");
                        break;
                    }
                    Err(_) => break,
                }
            }
        }
    }

    #[test]
    fn request_heads() {
        let head = request_head(
            "GET",
            "127.0.0.1:8080",
            "/a/b?c=d%20e",
            [("accept", "text/html"), ("x-forwarded-for", "192.0.2.1")],
            None,
        );
        assert_eq!(
            head.as_deref().map(String::from_utf8_lossy),
            Ok(
                "GET /a/b?c=d%20e HTTP/1.1\r\nhost: 127.0.0.1:8080\r\naccept: text/html\r\n\
                x-forwarded-for: 192.0.2.1\r\nconnection: close\r\n\r\n"
                    .into()
            )
        );
        let post = request_head("POST", "shop.test", "/orders", [], Some(11));
        assert_eq!(
            post.as_deref().map(String::from_utf8_lossy),
            Ok("POST /orders HTTP/1.1\r\nhost: shop.test\r\nconnection: close\r\ncontent-length: 11\r\n\r\n".into())
        );
        let empty_post = request_head("POST", "shop.test", "/", [], None);
        assert!(empty_post.is_ok_and(|h| h.ends_with(b"content-length: 0\r\n\r\n")));
        let delete = request_head("DELETE", "shop.test", "/", [], None);
        assert!(delete.is_ok_and(|h| !h.windows(14).any(|w| w == b"content-length")));
    }

    #[test]
    fn request_heads_leave_out_the_fields_they_own() {
        let given = [
            ("Host", "evil.test"),
            ("content-length", "5"),
            ("Connection", "keep-alive"),
            ("transfer-encoding", "chunked"),
            ("TE", "trailers"),
            ("upgrade", "websocket"),
            ("keep-alive", "timeout=5"),
            ("proxy-connection", "x"),
            ("trailer", "x"),
            ("expect", "100-continue"),
            ("x-kept", "  padded\t"),
        ];
        let head = request_head("PUT", "o.test", "/x", given, Some(3));
        assert_eq!(
            head.as_deref().map(String::from_utf8_lossy),
            Ok("PUT /x HTTP/1.1\r\nhost: o.test\r\nx-kept: padded\r\nconnection: close\r\ncontent-length: 3\r\n\r\n".into())
        );
    }

    #[test]
    fn request_heads_refuse_what_cannot_be_written() {
        let cases: &[BadRequest] = &[
            (
                "GE T",
                "h",
                "/",
                ("a", "b"),
                RequestError::Method("GE T".into()),
            ),
            ("", "h", "/", ("a", "b"), RequestError::Method("".into())),
            (
                "GET",
                "h",
                "/a b",
                ("a", "b"),
                RequestError::Target("/a b".into()),
            ),
            (
                "GET",
                "h",
                "/a\r\nX: y",
                ("a", "b"),
                RequestError::Target("/a\r\nX: y".into()),
            ),
            (
                "GET",
                "h",
                "http://h/",
                ("a", "b"),
                RequestError::Target("http://h/".into()),
            ),
            (
                "GET",
                "h",
                "/é",
                ("a", "b"),
                RequestError::Target("/é".into()),
            ),
            (
                "GET",
                "h\r\nX: y",
                "/",
                ("a", "b"),
                RequestError::Host("h\r\nX: y".into()),
            ),
            ("GET", "", "/", ("a", "b"), RequestError::Host("".into())),
            (
                "GET",
                "h",
                "/",
                ("a b", "b"),
                RequestError::FieldName("a b".into()),
            ),
            (
                "GET",
                "h",
                "/",
                ("a:", "b"),
                RequestError::FieldName("a:".into()),
            ),
            (
                "GET",
                "h",
                "/",
                ("a", "b\r\nX: y"),
                RequestError::FieldValue("a".into()),
            ),
            (
                "GET",
                "h",
                "/",
                ("a", "b\0"),
                RequestError::FieldValue("a".into()),
            ),
        ];
        for (method, host, target, field, err) in cases {
            assert_eq!(
                request_head(method, host, target, [*field], None),
                Err(err.clone()),
                "{method} {host} {target} {field:?}"
            );
        }
    }

    #[test]
    fn a_request_head_reads_back_as_sent() {
        // What the edge writes, an HTTP/1.1 server reads: the head is a well-formed message
        // (checked here with the response parser's field-line rules on its field lines).
        let head = request_head("OPTIONS", "[::1]:8443", "/*x", [("a", "1")], None)
            .map(|h| String::from_utf8_lossy(&h).into_owned());
        let head = head.as_deref().unwrap_or_default();
        let mut fields = Vec::new();
        for line in head.split("\r\n").skip(1).filter(|l| !l.is_empty()) {
            assert_eq!(
                push_field(&mut fields, line.as_bytes(), 8),
                Ok(()),
                "{line}"
            );
        }
        assert_eq!(fields.len(), 3);
    }
}
