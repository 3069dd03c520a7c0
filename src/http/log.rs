//! One log line per request — user, endpoint, status, bytes in/out, ms —
//! written when the response body has been sent (or dropped, if the client
//! went away mid-stream), so streamed downloads are measured whole.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use hyper::body::{Body, Frame, SizeHint};

/// What is known about a request by the time its response starts.
#[derive(Debug)]
pub struct RequestLog {
    pub method: String,
    pub endpoint: String,
    pub user: Option<String>,
    pub status: u16,
    pub bytes_in: u64,
    pub error: Option<String>,
    pub started: Instant,
}

impl RequestLog {
    pub fn new(method: &str, endpoint: &str) -> RequestLog {
        RequestLog {
            method: method.to_owned(),
            endpoint: endpoint.to_owned(),
            user: None,
            status: 0,
            bytes_in: 0,
            error: None,
            started: Instant::now(),
        }
    }

    fn emit(&self, bytes_out: u64, complete: bool) {
        let ms = self.started.elapsed().as_millis() as u64;
        let user = self.user.as_deref().unwrap_or("-");
        let error = self.error.as_deref().unwrap_or("");
        if self.status >= 500 {
            tracing::error!(
                user, method = %self.method, endpoint = %self.endpoint, status = self.status,
                bytes_in = self.bytes_in, bytes_out, ms, complete, error, "request"
            );
        } else {
            tracing::info!(
                user, method = %self.method, endpoint = %self.endpoint, status = self.status,
                bytes_in = self.bytes_in, bytes_out, ms, complete, error, "request"
            );
        }
    }
}

/// A response body that counts what it sends and logs the request at the end.
pub struct LoggedBody {
    inner: BoxBody<Bytes, io::Error>,
    log: Option<RequestLog>,
    bytes_out: u64,
}

impl LoggedBody {
    pub fn new(inner: BoxBody<Bytes, io::Error>, log: RequestLog) -> LoggedBody {
        LoggedBody {
            inner,
            log: Some(log),
            bytes_out: 0,
        }
    }

    fn finish(&mut self, complete: bool) {
        if let Some(log) = self.log.take() {
            log.emit(self.bytes_out, complete);
        }
    }
}

impl Body for LoggedBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.bytes_out += data.len() as u64;
                }
            }
            Poll::Ready(Some(Err(e))) => {
                if let Some(log) = self.log.as_mut() {
                    log.error = Some(format!("response body failed: {e}"));
                }
                self.finish(false);
            }
            Poll::Ready(None) => self.finish(true),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for LoggedBody {
    fn drop(&mut self) {
        // A body hyper never polled to its end: the client went away, or the
        // body was empty (hyper may not poll an empty body at all).
        let complete = self.inner.is_end_stream();
        self.finish(complete);
    }
}
