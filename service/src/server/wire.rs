//! The local server's connections, below HTTP: what hyper does on its own, made to
//! keep the contract.
//!
//! Two things happen on a connection that the app never sees:
//!
//! - **hyper answers some requests itself.** A request line or head it cannot parse
//!   gets `400`, and one over the header limits ([`super::MAX_HEADER_BYTES`],
//!   [`super::MAX_HEADERS`]) gets `431`, both with an empty body and no
//!   `Cache-Control`, written straight to the connection. [`Wire`] recognises such an
//!   answer (hyper's automatic answers are the only ones without `Cache-Control`; the
//!   app puts `no-store` on every answer it makes) and sends the contract's problem
//!   in its place, closing the connection as hyper does.
//! - **Closing with a body still arriving loses the answer.** When the app answers
//!   `413` before reading an oversized body, hyper closes the connection while the
//!   client is still sending. Closing a socket with unread data makes the kernel send
//!   a reset, and a client still writing its body then reads "connection reset"
//!   instead of the `413` waiting for it. [`Wire`] closes the way web servers have
//!   long done (a "lingering close"): it shuts down its side for writing, then reads
//!   and discards what the client still sends, for at most [`LINGER_TIME`] and
//!   [`LINGER_BYTES`], before the socket is dropped; a client that sends nothing for
//!   [`LINGER_IDLE`] is done (an idle keep-alive connection closed at shutdown), so a
//!   stop is not held up by connections that have nothing more to say.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::problem::Problem;

/// The longest a closing connection keeps reading what the client still sends.
pub const LINGER_TIME: Duration = Duration::from_secs(2);
/// A closing connection on which the client sends nothing for this long is done: it
/// was idle (a keep-alive connection closed at shutdown), not sending a body.
pub const LINGER_IDLE: Duration = Duration::from_millis(250);
/// The most bytes a closing connection reads and discards.
pub const LINGER_BYTES: usize = 4 * 1024 * 1024;

/// A connection's byte stream, with hyper's own answers made problems and a lingering close.
#[derive(Debug)]
pub struct Wire<T> {
    inner: T,
    /// A problem answer being written in place of one of hyper's.
    replacement: Option<(Vec<u8>, usize)>,
    closing: Closing,
}

#[derive(Debug)]
enum Closing {
    Open,
    /// Our side is shut for writing; reading until the client is done.
    Lingering {
        /// [`LINGER_TIME`] after the shutdown.
        until: Instant,
        /// The sooner of `until` and [`LINGER_IDLE`] after the last bytes read.
        timer: Pin<Box<Sleep>>,
        discarded: usize,
    },
    Closed,
}

impl<T> Wire<T> {
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            replacement: None,
            closing: Closing::Open,
        }
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> Wire<T> {
    /// Writes out the replacement answer, if there is one.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.replacement {
            if *written == bytes.len() {
                self.replacement = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Wire<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Wire<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_replacement(cx))?;
        if let Some(problem) = automatic_answer(buf) {
            // hyper's head counts as written; the problem goes out in its place, now
            // or from poll_flush, which hyper calls next (and again until it is out).
            self.replacement = Some((serialise(problem), 0));
            if let Poll::Ready(Err(error)) = self.poll_replacement(cx) {
                return Poll::Ready(Err(error));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_replacement(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            match &mut this.closing {
                Closing::Open => {
                    ready!(this.poll_replacement(cx))?;
                    ready!(Pin::new(&mut this.inner).poll_shutdown(cx))?;
                    let now = Instant::now();
                    this.closing = Closing::Lingering {
                        until: now + LINGER_TIME,
                        timer: Box::pin(tokio::time::sleep_until(now + LINGER_IDLE)),
                        discarded: 0,
                    };
                }
                Closing::Lingering {
                    until,
                    timer,
                    discarded,
                } => {
                    let mut scratch = [0u8; 8192];
                    let mut buf = ReadBuf::new(&mut scratch);
                    match Pin::new(&mut this.inner).poll_read(cx, &mut buf) {
                        Poll::Ready(Ok(())) if !buf.filled().is_empty() => {
                            *discarded += buf.filled().len();
                            if *discarded >= LINGER_BYTES {
                                this.closing = Closing::Closed;
                            } else {
                                let next = (Instant::now() + LINGER_IDLE).min(*until);
                                timer.as_mut().reset(next);
                            }
                        }
                        // The client closed its side, or the connection broke: done.
                        Poll::Ready(_) => this.closing = Closing::Closed,
                        Poll::Pending => {
                            ready!(timer.as_mut().poll(cx));
                            this.closing = Closing::Closed;
                        }
                    }
                }
                Closing::Closed => return Poll::Ready(Ok(())),
            }
        }
    }
}

/// The problem for one of hyper's automatic answers: a status line of 400 or 431 at
/// the start of a write whose head has no `Cache-Control`.
fn automatic_answer(buf: &[u8]) -> Option<Problem> {
    // hyper answers in the version of the last request it parsed: 1.0 or 1.1.
    let status = match buf {
        [
            b'H',
            b'T',
            b'T',
            b'P',
            b'/',
            b'1',
            b'.',
            b'0' | b'1',
            b' ',
            status @ ..,
        ] => status,
        _ => return None,
    };
    let problem = if status.starts_with(b"431 ") {
        Problem::HeadersTooLarge {
            headers: super::MAX_HEADERS,
            bytes: super::MAX_HEADER_BYTES,
        }
    } else if status.starts_with(b"400 ") {
        Problem::BadRequest
    } else {
        return None;
    };
    let head_end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(buf.len());
    let head = &buf[..head_end];
    let has_cache_control = head
        .split(|&b| b == b'\n')
        .any(|line| line.len() >= 14 && line[..14].eq_ignore_ascii_case(b"cache-control:"));
    (!has_cache_control).then_some(problem)
}

/// A problem as HTTP/1.1 bytes, with the headers every answer carries, closing the
/// connection (as hyper does after its own answers).
fn serialise(problem: Problem) -> Vec<u8> {
    let status = problem.status();
    let body = problem.body();
    let mut out = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: {}\r\ncache-control: no-store\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        crate::problem::CONTENT_TYPE,
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}
