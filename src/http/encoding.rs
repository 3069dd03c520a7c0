//! The current sync protocol's encodings (v11): the `anki-sync` request
//! header, zstd-compressed request and response bodies, and the
//! `anki-original-size` response header. Large bodies (full uploads and
//! downloads) are streamed between the socket and a file on a blocking
//! thread, through a small bounded channel: nothing large is held in memory.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::mpsc;

use super::error::HttpError;

/// Name of the request header carrying the protocol version and keys.
pub const SYNC_HEADER: &str = "anki-sync";
/// Name of the response header giving the uncompressed body size.
pub const ORIGINAL_SIZE_HEADER: &str = "anki-original-size";
/// Protocol versions accepted in the header (as the official server).
pub const HEADER_VERSIONS: std::ops::RangeInclusive<i64> = 8..=11;
/// zstd level for responses (zstd's default; cheap on a small board).
const ZSTD_LEVEL: i32 = 3;
/// Size of the pieces bodies are streamed in.
const CHUNK: usize = 64 * 1024;
/// Chunks buffered between the socket and the file thread.
const CHANNEL_DEPTH: usize = 8;

/// The decoded `anki-sync` header.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SyncHeader {
    /// Protocol version.
    pub v: i64,
    /// Host key (empty on `hostKey`).
    pub k: String,
    /// Short client version, e.g. `26.09.3,29bb700b,linux`.
    pub c: String,
    /// Session key: constant across one sync.
    pub s: String,
}

/// Parses the header; every key is required, and the version must be one
/// kioku speaks.
pub fn parse_sync_header(raw: &[u8]) -> Result<SyncHeader, HttpError> {
    let header: SyncHeader =
        serde_json::from_slice(raw).map_err(|e| HttpError::BadHeader(e.to_string()))?;
    if !HEADER_VERSIONS.contains(&header.v) {
        return Err(HttpError::UnsupportedVersion(header.v));
    }
    Ok(header)
}

/// Reads a whole (small) request body, refusing more than `limit` bytes.
pub async fn read_body(mut body: Incoming, limit: u64) -> Result<Bytes, HttpError> {
    let mut buf = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| HttpError::Client(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            if (buf.len() + data.len()) as u64 > limit {
                return Err(HttpError::PayloadTooLarge { limit });
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf.into())
}

/// zstd-decompresses `compressed` (at most `limit` bytes of output) and parses
/// it as JSON. An empty payload is not JSON, as with the official server.
pub fn decode_json(compressed: &[u8], limit: u64) -> Result<Value, HttpError> {
    let decoder = zstd::stream::read::Decoder::new(compressed)
        .map_err(|e| HttpError::BadBody(format!("zstd: {e}")))?;
    let mut plain = Vec::new();
    decoder
        .take(limit + 1)
        .read_to_end(&mut plain)
        .map_err(|e| HttpError::BadBody(format!("zstd: {e}")))?;
    if plain.len() as u64 > limit {
        return Err(HttpError::PayloadTooLarge { limit });
    }
    serde_json::from_slice(&plain).map_err(|e| HttpError::BadBody(format!("json: {e}")))
}

/// zstd-compresses a (small) response payload.
pub fn encode(payload: &[u8]) -> Bytes {
    zstd::bulk::compress(payload, ZSTD_LEVEL)
        .expect("zstd compression of an in-memory buffer cannot fail")
        .into()
}

/// What streaming an upload to a file produced.
#[derive(Debug)]
pub enum UploadOutcome {
    /// The whole body was decompressed into the file.
    Complete { compressed: u64, plain: u64 },
    /// The decompressed body went over the limit; the file is incomplete.
    TooLarge { compressed: u64 },
}

/// Streams a zstd request body into the file `dest`, stopping once the
/// decompressed size would exceed `limit` (then the rest of the body is read
/// and discarded, within bounds, so the client gets to see the answer).
pub async fn body_to_file(
    mut body: Incoming,
    dest: PathBuf,
    limit: u64,
) -> Result<UploadOutcome, HttpError> {
    let (tx, mut rx) = mpsc::channel::<Bytes>(CHANNEL_DEPTH);
    let exceeded = Arc::new(AtomicBool::new(false));
    let flag = exceeded.clone();
    let writer = tokio::task::spawn_blocking(move || -> io::Result<u64> {
        let file = File::create(&dest)?;
        let limited = LimitWriter {
            inner: BufWriter::with_capacity(CHUNK, file),
            written: 0,
            limit,
            exceeded: flag,
        };
        let mut decoder = zstd::stream::write::Decoder::new(limited)?;
        while let Some(chunk) = rx.blocking_recv() {
            decoder.write_all(&chunk)?;
        }
        // `finish` also reports a body that ends inside a zstd frame.
        let mut limited = decoder.finish()?;
        limited.inner.flush()?;
        Ok(limited.written)
    });

    let mut compressed = 0u64;
    let mut write_failed = false;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| HttpError::Client(e.to_string()))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        compressed += data.len() as u64;
        if tx.send(data).await.is_err() {
            write_failed = true;
            break;
        }
        if compressed > limit {
            // Compressed data is never larger than the plain data in practice;
            // this bounds a stream of zstd frames that decompress to nothing.
            exceeded.store(true, Ordering::SeqCst);
            write_failed = true;
            break;
        }
    }
    drop(tx);
    let written = writer
        .await
        .map_err(|e| HttpError::BadBody(format!("upload task failed: {e}")))?;
    if exceeded.load(Ordering::SeqCst) {
        compressed += drain(body, limit.saturating_mul(2)).await;
        return Ok(UploadOutcome::TooLarge { compressed });
    }
    match written {
        Ok(plain) if !write_failed => Ok(UploadOutcome::Complete { compressed, plain }),
        Ok(_) => Err(HttpError::BadBody("upload stopped early".into())),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::Other | io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof
            ) =>
        {
            drain(body, limit).await;
            Err(HttpError::BadBody(format!("zstd: {e}")))
        }
        Err(e) => Err(HttpError::from(crate::store::StoreError::Io(e))),
    }
}

/// Reads and discards up to `max` more bytes of a body, for at most 60 s, so
/// a client that is still sending receives the answer instead of a reset.
async fn drain(mut body: Incoming, max: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = 0u64;
    while seen < max {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    seen += data.len() as u64;
                }
            }
            _ => break,
        }
    }
    seen
}

/// A writer that refuses to write more than `limit` bytes in total.
struct LimitWriter<W> {
    inner: W,
    written: u64,
    limit: u64,
    exceeded: Arc<AtomicBool>,
}

impl<W: Write> Write for LimitWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.written + buf.len() as u64 > self.limit {
            self.exceeded.store(true, Ordering::SeqCst);
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                "decompressed body over the limit",
            ));
        }
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A response body fed by a channel from a blocking thread.
pub struct ChannelBody {
    rx: mpsc::Receiver<io::Result<Bytes>>,
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        self.rx
            .poll_recv(cx)
            .map(|item| item.map(|r| r.map(Frame::data)))
    }
}

/// Streams `file` (a file, or any reader such as a zip built on the fly)
/// zstd-compressed, reading and compressing on a blocking thread; stops early
/// if the client goes away. `keep` is held until the stream ends (e.g. a pin
/// that keeps the file from changing).
pub fn file_body<R: Read + Send + 'static, K: Send + 'static>(file: R, keep: K) -> ChannelBody {
    reader_body(
        move || zstd::stream::read::Encoder::new(file, ZSTD_LEVEL),
        keep,
    )
}

/// Streams `file` as it is (e.g. a snapshot, compressed already), reading
/// on a blocking thread; stops early if the client goes away.
pub fn raw_file_body<R: Read + Send + 'static>(file: R) -> ChannelBody {
    reader_body(move || Ok(file), ())
}

/// Streams what the reader `open` makes, in chunks, from a blocking thread.
fn reader_body<R, K>(open: impl FnOnce() -> io::Result<R> + Send + 'static, keep: K) -> ChannelBody
where
    R: Read,
    K: Send + 'static,
{
    let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
    tokio::task::spawn_blocking(move || {
        let _keep = keep;
        let mut reader = match open() {
            Ok(r) => r,
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        };
        loop {
            let mut buf = vec![0u8; CHUNK];
            match read_full(&mut reader, &mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    buf.truncate(n);
                    if tx.blocking_send(Ok(buf.into())).is_err() {
                        break; // client gone
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "reading a download for the client failed");
                    let _ = tx.blocking_send(Err(e));
                    break;
                }
            }
        }
    });
    ChannelBody { rx }
}

/// Reads until `buf` is full or the reader ends.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_real_clients_header_parses() {
        let h = parse_sync_header(
            br#"{"v":11,"k":"b2619aa1529dfdc4248e6edbf3c1b2a2b014cf6d","c":"26.09.3,29bb700b,linux","s":"ZI2kh"}"#,
        )
        .unwrap();
        assert_eq!(h.v, 11);
        assert_eq!(h.k, "b2619aa1529dfdc4248e6edbf3c1b2a2b014cf6d");
        assert_eq!(h.s, "ZI2kh");
    }

    #[test]
    fn header_versions_outside_8_to_11_are_refused() {
        for v in [7, 12] {
            let raw = format!(r#"{{"v":{v},"k":"","c":"x","s":"y"}}"#);
            assert!(matches!(
                parse_sync_header(raw.as_bytes()),
                Err(HttpError::UnsupportedVersion(got)) if got == v
            ));
        }
    }

    #[test]
    fn a_header_missing_a_key_or_not_json_is_bad() {
        for raw in [r#"{"v":11,"k":"","c":"x"}"#, "not json", ""] {
            assert!(matches!(
                parse_sync_header(raw.as_bytes()),
                Err(HttpError::BadHeader(_))
            ));
        }
    }

    #[test]
    fn json_bodies_decode_from_zstd_and_respect_the_limit() {
        let body = encode(br#"{"_pad":null}"#);
        assert_eq!(
            decode_json(&body, 100).unwrap(),
            serde_json::json!({"_pad": null})
        );
        assert!(matches!(
            decode_json(&body, 5),
            Err(HttpError::PayloadTooLarge { limit: 5 })
        ));
    }

    #[test]
    fn bodies_that_are_not_zstd_or_not_json_are_bad() {
        assert!(matches!(
            decode_json(b"{\"v\":11}", 100),
            Err(HttpError::BadBody(_))
        ));
        assert!(matches!(
            decode_json(&encode(b"{not json"), 100),
            Err(HttpError::BadBody(_))
        ));
        assert!(matches!(
            decode_json(&encode(b""), 100),
            Err(HttpError::BadBody(_))
        ));
    }

    #[test]
    fn limit_writer_stops_at_the_limit() {
        let flag = Arc::new(AtomicBool::new(false));
        let mut w = LimitWriter {
            inner: Vec::new(),
            written: 0,
            limit: 4,
            exceeded: flag.clone(),
        };
        w.write_all(b"abcd").unwrap();
        assert!(w.write_all(b"e").is_err());
        assert!(flag.load(Ordering::SeqCst));
        assert_eq!(w.inner, b"abcd");
    }
}
