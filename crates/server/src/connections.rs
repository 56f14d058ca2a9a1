//! What keeps slow, idle and malformed clients from taking the server down: a bounded number of
//! connections where the oldest idle one makes room for a new one, a deadline for a request's head
//! (and for the next one on a kept-alive connection), a deadline for its body, and problem
//! documents for the requests that HTTP itself refuses.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::IntoResponse;
use http_body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{Notify, oneshot};

use crate::error::{ApiError, body_too_large};

/// Most connections served at once (by default): one request of each may wait for the ingest
/// writer, which queues exactly this many.
pub const CONNECTIONS_MAX: usize = firebreak_app::alerts::QUEUE_REQUESTS_MAX;

/// What slow and idle clients are allowed; [`Limits::default`] is what `firebreak serve` uses.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Most connections served at once; when all are open, the longest idle one is closed to
    /// admit a new one.
    pub connections_max: usize,
    /// How long a connection may take to send a request's head, counted from when it opened or
    /// answered its last request: a connection idle this long is closed.
    pub idle_timeout: Duration,
    /// How long a request's body may take to arrive, counted from its head: `408` after that.
    pub body_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            connections_max: CONNECTIONS_MAX,
            idle_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(30),
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The connections being served. When all [`CONNECTIONS_MAX`] are open, the one that has been
/// idle longest (no request being answered: waiting for one, or for the rest of its head) is
/// closed to admit the new one; only when every connection is answering a request does a new one
/// wait, in the kernel's accept queue.
pub(crate) struct Admission {
    max: usize,
    open: Mutex<Open>,
    freed: Notify,
}

#[derive(Default)]
struct Open {
    next_id: u64,
    /// By age: ids grow.
    slots: BTreeMap<u64, Arc<Slot>>,
}

/// One admitted connection.
pub(crate) struct Slot {
    /// Requests being answered, from the call of the service to the end of the response's body.
    busy: AtomicUsize,
    /// Told when the connection is to close to make room for a newer one.
    evict: Mutex<Option<oneshot::Sender<()>>>,
}

impl Admission {
    pub(crate) fn new(max: usize) -> Arc<Admission> {
        Arc::new(Admission { max, open: Mutex::new(Open::default()), freed: Notify::new() })
    }

    /// Admits a connection, closing the longest idle one if all are open, or waiting for one to
    /// close if every connection is answering a request. The connection is to close when the
    /// receiver completes.
    pub(crate) async fn admit(self: &Arc<Self>) -> (Admitted, oneshot::Receiver<()>) {
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            {
                let mut open = self.open.lock().expect("the admission lock is never poisoned");
                if open.slots.len() >= self.max {
                    let idle = open
                        .slots
                        .iter()
                        .find(|(_, slot)| slot.busy.load(Ordering::Acquire) == 0)
                        .map(|(id, _)| *id);
                    if let Some(id) = idle
                        && let Some(slot) = open.slots.remove(&id)
                    {
                        let evict = slot.evict.lock().expect("an eviction lock is never poisoned").take();
                        if let Some(evict) = evict {
                            let _ = evict.send(());
                        }
                        tracing::debug!("idle_connection_closed_for_a_new_one");
                    }
                }
                if open.slots.len() < self.max {
                    let id = open.next_id;
                    open.next_id += 1;
                    let (evict, evicted) = oneshot::channel();
                    let slot = Arc::new(Slot { busy: AtomicUsize::new(0), evict: Mutex::new(Some(evict)) });
                    open.slots.insert(id, slot.clone());
                    return (Admitted { admission: self.clone(), id, slot }, evicted);
                }
            }
            freed.await;
        }
    }

    /// Connections open now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.open.lock().expect("the admission lock is never poisoned").slots.len()
    }
}

/// An admitted connection's place, given back when dropped.
pub(crate) struct Admitted {
    admission: Arc<Admission>,
    id: u64,
    slot: Arc<Slot>,
}

impl Admitted {
    /// Marks a request as being answered until the returned guard is dropped.
    pub(crate) fn busy(&self) -> Busy {
        self.slot.busy.fetch_add(1, Ordering::AcqRel);
        Busy { slot: self.slot.clone() }
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self.admission.open.lock().expect("the admission lock is never poisoned");
        open.slots.remove(&self.id);
        drop(open);
        self.admission.freed.notify_one();
    }
}

/// A request being answered.
pub(crate) struct Busy {
    slot: Arc<Slot>,
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.slot.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its connection marked busy until it is written (or dropped).
pub(crate) struct Answering {
    pub(crate) body: axum::body::Body,
    pub(crate) _busy: Busy,
}

impl Body for Answering {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A request body that fails with [`BodyTimedOut`] if it has not all arrived by a deadline.
pub(crate) struct Deadline<B> {
    body: B,
    timeout: Duration,
    deadline: tokio::time::Instant,
    /// Set when the body first has to wait.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<B> Deadline<B> {
    pub(crate) fn new(body: B, timeout: Duration) -> Deadline<B> {
        Deadline { body, timeout, deadline: tokio::time::Instant::now() + timeout, timer: None }
    }
}

impl<B> Body for Deadline<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.body).poll_frame(cx) {
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        }
        let deadline = this.deadline;
        let timer = this.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        ready!(timer.as_mut().poll(cx));
        Poll::Ready(Some(Err(Box::new(BodyTimedOut(this.timeout)))))
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A request body that did not arrive within this long.
#[derive(Debug)]
pub(crate) struct BodyTimedOut(Duration);

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the body did not arrive within {} s", self.0.as_secs_f64())
    }
}

impl std::error::Error for BodyTimedOut {}

/// The `408` to answer when reading a body failed because it did not arrive in time (`err` or
/// what caused it says so).
pub(crate) fn timed_out(err: &(dyn std::error::Error + 'static)) -> Option<ApiError> {
    let mut cause = Some(err);
    while let Some(err) = cause {
        if let Some(timed_out) = err.downcast_ref::<BodyTimedOut>() {
            return Some(ApiError::new(StatusCode::REQUEST_TIMEOUT, "body-timed-out", timed_out.to_string()));
        }
        cause = err.source();
    }
    None
}

/// Whether `headers` declare a body longer than `limit` bytes: such a request is refused before
/// its body is read.
pub(crate) fn declared_too_large(headers: &HeaderMap, limit: usize) -> bool {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .is_some_and(|length| length > limit as u64)
}

/// Refuses a request that declares a body longer than `limit` bytes at once, with a `413`,
/// instead of reading up to the limit first (or waiting for a body that never comes).
pub(crate) async fn refuse_declared_too_large(
    State(limit): State<usize>,
    request: axum::extract::Request,
    next: Next,
) -> axum::response::Response {
    if declared_too_large(request.headers(), limit) {
        return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body-too-large", body_too_large(limit))
            .into_response();
    }
    next.run(request).await
}

/// A connection's socket. HTTP refuses some requests before any handler sees them (a request line
/// or header it cannot parse, a path and query longer than 65,534 bytes, more than 100 headers or a
/// head over about 400 KiB), answering with an empty body and closing the connection; this writes
/// a problem document naming the problem in place of that empty answer.
pub(crate) struct Socket {
    stream: TcpStream,
    /// A problem document written in place of such an answer, and how much of it is written.
    replacing: Option<(Vec<u8>, usize)>,
}

impl Socket {
    pub(crate) fn new(stream: TcpStream) -> Socket {
        Socket { stream, replacing: None }
    }

    /// Writes what is left of the replacing answer; ready when all of it is written.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let Some((bytes, written)) = &mut self.replacing else { return Poll::Ready(Ok(())) };
        while *written < bytes.len() {
            let n = ready!(Pin::new(&mut self.stream).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }

    /// Takes `head` (what HTTP writes next) in place of writing it, if it is one of HTTP's own
    /// refusals or follows one.
    fn replaces(&mut self, head: &[u8], cx: &mut Context<'_>) -> Option<Poll<std::io::Result<()>>> {
        if self.replacing.is_none() {
            self.replacing = Some((refusal_problem(head)?, 0));
        }
        match self.poll_replacement(cx) {
            Poll::Ready(Err(err)) => Some(Poll::Ready(Err(err))),
            // The rest is written when the connection is flushed or shut down.
            Poll::Ready(Ok(())) | Poll::Pending => Some(Poll::Ready(Ok(()))),
        }
    }
}

/// The problem document to answer in place of `head`, when it is an answer HTTP made itself to a
/// request it refused: an empty `400`, `414` or `431`. Every answer of firebreak's own to these
/// has a body.
fn refusal_problem(head: &[u8]) -> Option<Vec<u8>> {
    let rest = head.strip_prefix(b"HTTP/1.1 ")?;
    let (status, code, detail) = match rest.get(..4)? {
        b"400 " => (
            StatusCode::BAD_REQUEST,
            "malformed-request",
            "the request line or a header is malformed: the method, a path and query of printable \
             ASCII (other bytes percent-encoded), HTTP/1.1, then headers of a name and a value",
        ),
        b"414 " => (
            StatusCode::URI_TOO_LONG,
            "uri-too-long",
            "the path and query are longer than the limit of 65534 bytes",
        ),
        b"431 " => (
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers-too-large",
            "the request has more than 100 headers, or a head larger than about 400 KiB",
        ),
        _ => return None,
    };
    let end = head.windows(4).position(|window| window == b"\r\n\r\n")?;
    let fields = &head[..end + 2];
    if !fields.windows(21).any(|window| window.eq_ignore_ascii_case(b"\r\ncontent-length: 0\r\n")) {
        return None;
    }
    let body = ApiError::new(status, code, detail).problem_body();
    let mut answer = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error"),
        crate::error::PROBLEM_JSON,
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(&body);
    Some(answer)
}

impl AsyncRead for Socket {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if let Some(done) = self.replaces(buf, cx) {
            return done.map_ok(|()| buf.len());
        }
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let first = bufs.iter().find(|buf| !buf.is_empty()).map_or(&[][..], |buf| &buf[..]);
        if let Some(done) = self.replaces(first, cx) {
            return done.map_ok(|()| bufs.iter().map(|buf| buf.len()).sum());
        }
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        ready!(self.poll_replacement(cx))?;
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        ready!(self.poll_replacement(cx))?;
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_empty_refusals_are_replaced() {
        let refusal =
            b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\n\
                        date: Mon, 07 Dec 2026 18:07:00 GMT\r\n\r\n";
        let answer = String::from_utf8(refusal_problem(refusal).unwrap()).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"), "{head}");
        assert!(head.contains("content-type: application/problem+json"), "{head}");
        assert!(head.contains(&format!("content-length: {}", body.len())), "{head}");
        let problem: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(problem["status"], 431);
        assert_eq!(problem["type"], "https://firebreak.dev/problems/headers-too-large");

        // Answers of firebreak's own, and other statuses, go out as they are.
        let own = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/problem+json\r\ncontent-length: 120\r\n\r\n";
        assert!(refusal_problem(own).is_none());
        assert!(refusal_problem(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n").is_none());
        assert!(refusal_problem(b"{\"status\":400}").is_none());
        // A body that happens to start like an answer is not a head.
        assert!(refusal_problem(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n").is_none());
    }

    #[tokio::test]
    async fn the_longest_idle_connection_makes_room() {
        let admission = Admission::new(2);
        let (first, first_evicted) = admission.admit().await;
        let (second, _) = admission.admit().await;
        let _busy = second.busy();
        // Full: the first, idle, is closed for the third.
        let (third, _) = admission.admit().await;
        tokio::time::timeout(Duration::from_secs(1), first_evicted).await.unwrap().unwrap();
        assert_eq!(admission.len(), 2);
        // Full of busy connections: a fourth waits until one closes.
        let _busy_third = third.busy();
        let fourth = tokio::spawn({
            let admission = admission.clone();
            async move { admission.admit().await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!fourth.is_finished());
        drop(first);
        assert_eq!(admission.len(), 2, "the first was no longer counted");
        drop(second);
        let _fourth = tokio::time::timeout(Duration::from_secs(1), fourth).await.unwrap().unwrap();
        assert_eq!(admission.len(), 2);
    }
}
