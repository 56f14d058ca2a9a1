//! A reference point for the ingest benchmark: an HTTP/1.1 responder that does no work.
//!
//! It reads each request (its head and a `Content-Length` body) and answers with a fixed `202`
//! shaped like PagerDuty's, from one event loop per core, on mio (the event loop under tokio), with
//! no parsing, no storage and no allocation per request. `bench/ingest.sh` runs the same wrk load
//! against it as against firebreak: the rate it reaches is the most that wrk and the kernel's
//! loopback TCP leave room for on the machine, whatever the server does.
//!
//! ```text
//! cargo run --release -p firebreak-server --example http_floor -- 127.0.0.1:18482 [loops]
//! ```

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::mpsc;

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token, Waker};

const ANSWER: &[u8] =
    b"HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: 74\r\n\r\n\
{\"status\":\"success\",\"message\":\"Event processed\",\"dedup_key\":\"floor-00000\"}";
/// Longest request head and body kept; a longer request closes the connection.
const REQUEST_BYTES_MAX: usize = 64 * 1024;
const WAKER: Token = Token(usize::MAX);

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr: SocketAddr = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:18482".to_owned())
        .parse()
        .map_err(|err| io::Error::new(io::ErrorKind::InvalidInput, format!("address: {err}")))?;
    let loops: usize = match args.next() {
        Some(n) => {
            n.parse().map_err(|err| io::Error::new(io::ErrorKind::InvalidInput, format!("loops: {err}")))?
        }
        None => std::thread::available_parallelism().map_or(2, |n| n.get()),
    };
    let listener = TcpListener::bind(addr)?;
    eprintln!("http_floor listening on {addr} with {loops} event loops");
    let mut handoffs = Vec::new();
    for _ in 0..loops.max(1) {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            if let Err(err) = serve(poll, receiver) {
                eprintln!("http_floor: event loop failed: {err}");
                std::process::exit(1);
            }
        });
        handoffs.push((sender, waker));
    }
    // Connections go to the loops in turn.
    for (n, stream) in listener.incoming().enumerate() {
        let stream = match stream {
            Ok(stream) => stream,
            Err(err) => {
                eprintln!("http_floor: accept: {err}");
                continue;
            }
        };
        stream.set_nodelay(true)?;
        stream.set_nonblocking(true)?;
        let (sender, waker) = &handoffs[n % handoffs.len()];
        if sender.send(TcpStream::from_std(stream)).is_err() {
            return Err(io::Error::other("an event loop stopped"));
        }
        waker.wake()?;
    }
    Ok(())
}

struct Connection {
    stream: TcpStream,
    input: Vec<u8>,
    output: Vec<u8>,
}

fn serve(mut poll: Poll, arrivals: mpsc::Receiver<TcpStream>) -> io::Result<()> {
    let mut connections: Vec<Option<Connection>> = Vec::new();
    let mut events = Events::with_capacity(256);
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        poll.poll(&mut events, None)?;
        for event in &events {
            if event.token() == WAKER {
                while let Ok(mut stream) = arrivals.try_recv() {
                    let slot = connections.iter().position(Option::is_none).unwrap_or(connections.len());
                    poll.registry().register(&mut stream, Token(slot), Interest::READABLE)?;
                    let connection = Connection { stream, input: Vec::new(), output: Vec::new() };
                    if slot == connections.len() {
                        connections.push(Some(connection));
                    } else {
                        connections[slot] = Some(connection);
                    }
                }
                continue;
            }
            let slot = event.token().0;
            let Some(connection) = connections.get_mut(slot).and_then(Option::as_mut) else { continue };
            if !drive(connection, &mut chunk) {
                if let Some(mut closed) = connections[slot].take() {
                    let _ = poll.registry().deregister(&mut closed.stream);
                }
            } else {
                let interest = if connection.output.is_empty() {
                    Interest::READABLE
                } else {
                    Interest::READABLE | Interest::WRITABLE
                };
                poll.registry().reregister(&mut connection.stream, Token(slot), interest)?;
            }
        }
    }
}

/// Reads what arrived, answers every complete request and writes what it can. False when the
/// connection is finished.
fn drive(connection: &mut Connection, chunk: &mut [u8]) -> bool {
    loop {
        match connection.stream.read(chunk) {
            Ok(0) => return false,
            Ok(n) => connection.input.extend_from_slice(&chunk[..n]),
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return false,
        }
    }
    let mut consumed = 0;
    while let Some(length) = request_length(&connection.input[consumed..]) {
        consumed += length;
        connection.output.extend_from_slice(ANSWER);
    }
    connection.input.drain(..consumed);
    if connection.input.len() > REQUEST_BYTES_MAX {
        return false;
    }
    while !connection.output.is_empty() {
        match connection.stream.write(&connection.output) {
            Ok(0) => return false,
            Ok(n) => {
                connection.output.drain(..n);
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return false,
        }
    }
    true
}

/// The length of the first request in `input` (head and body), once all of it has arrived.
fn request_length(input: &[u8]) -> Option<usize> {
    let head_end = input.windows(4).position(|window| window == b"\r\n\r\n")? + 4;
    let body = input[..head_end]
        .split(|&byte| byte == b'\n')
        .find_map(|line| {
            let (name, value) = line.split_at(line.iter().position(|&byte| byte == b':')?);
            name.eq_ignore_ascii_case(b"content-length")
                .then(|| std::str::from_utf8(&value[1..]).ok()?.trim().parse::<usize>().ok())
                .flatten()
        })
        .unwrap_or(0);
    let total = head_end + body;
    (input.len() >= total).then_some(total)
}
