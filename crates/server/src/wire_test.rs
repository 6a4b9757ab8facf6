//! Golden cases of the frontend message checks, a property test that no
//! input makes them panic or lose track of a frame, and the guarded stream
//! over an in-memory socket.

use super::*;
use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn typed(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![kind];
    m.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
    m.extend_from_slice(body);
    m
}

fn startup(params: &[(&str, &str)]) -> Vec<u8> {
    let mut body = 196_608u32.to_be_bytes().to_vec();
    for (k, v) in params {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut m = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    m.extend_from_slice(&body);
    m
}

fn rejected(c: Check) -> Violation {
    match c {
        Check::Reject(_, v) => v,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn well_formed_messages_pass() {
    let q = typed(b'Q', b"select 1\0");
    assert_eq!(check(&q, Phase::Typed).0, Check::Pass(q.len()));
    let mut parse = b"s1\0select $1\0".to_vec();
    parse.extend_from_slice(&1i16.to_be_bytes());
    parse.extend_from_slice(&23u32.to_be_bytes());
    let p = typed(b'P', &parse);
    assert_eq!(check(&p, Phase::Typed).0, Check::Pass(p.len()));
    let mut bind = b"\0s1\0".to_vec();
    bind.extend_from_slice(&1i16.to_be_bytes());
    bind.extend_from_slice(&0i16.to_be_bytes());
    bind.extend_from_slice(&2i16.to_be_bytes());
    bind.extend_from_slice(&1i32.to_be_bytes());
    bind.push(b'7');
    bind.extend_from_slice(&(-1i32).to_be_bytes());
    bind.extend_from_slice(&0i16.to_be_bytes());
    let b = typed(b'B', &bind);
    assert_eq!(check(&b, Phase::Typed).0, Check::Pass(b.len()));
    for m in [
        typed(b'S', b""),
        typed(b'H', b""),
        typed(b'D', b"Ss1\0"),
        typed(b'C', b"P\0"),
        typed(b'E', b"\0\0\0\0\0"),
        typed(b'd', b"1\t2\n"),
        typed(b'c', b""),
        typed(b'f', b"gave up\0"),
        typed(b'X', b""),
    ] {
        assert_eq!(check(&m, Phase::Typed).0, Check::Pass(m.len()), "{m:?}");
    }
    // Two messages in the buffer: only the first is judged.
    let mut two = typed(b'S', b"");
    two.extend(typed(b'Q', b"select 2\0"));
    assert_eq!(check(&two, Phase::Typed).0, Check::Pass(5));
}

#[test]
fn partial_messages_wait_for_more() {
    let q = typed(b'Q', b"select 1\0");
    for cut in 0..q.len() {
        assert_eq!(
            check(&q[..cut], Phase::Typed).0,
            Check::Incomplete,
            "cut at {cut}"
        );
    }
    let s = startup(&[("user", "prism")]);
    for cut in 0..s.len() {
        assert_eq!(check(&s[..cut], Phase::Startup).0, Check::Incomplete);
    }
}

#[test]
fn malformed_bodies_are_errors_the_stream_survives() {
    // An embedded NUL in a Query.
    let q = typed(b'Q', b"select 1\0garbage\0");
    let (c, phase) = check(&q, Phase::Typed);
    assert_eq!(phase, Phase::Typed);
    let v = rejected(c.clone());
    assert_eq!((v.code, v.fatal, v.extended), ("08P01", false, false));
    assert_eq!(c, Check::Reject(q.len(), v));
    // A Parse whose query string is not terminated.
    let v = rejected(check(&typed(b'P', b"\0select 1"), Phase::Typed).0);
    assert_eq!((v.code, v.fatal, v.extended), ("08P01", false, true));
    // A Flush and a Sync with a body.
    for kind in [b'H', b'S'] {
        let v = rejected(check(&typed(kind, b"x"), Phase::Typed).0);
        assert_eq!((v.code, v.fatal, v.extended), ("08P01", false, true));
    }
    // A Bind that declares more parameters than it carries.
    let mut bind = b"\0\0".to_vec();
    bind.extend_from_slice(&0i16.to_be_bytes());
    bind.extend_from_slice(&3i16.to_be_bytes());
    bind.extend_from_slice(&100i32.to_be_bytes());
    let v = rejected(check(&typed(b'B', &bind), Phase::Typed).0);
    assert!(v.extended && !v.fatal);
    // An Execute without its row limit.
    let v = rejected(check(&typed(b'E', b"\0"), Phase::Typed).0);
    assert!(v.extended && !v.fatal);
    // Text that is not UTF-8.
    let v = rejected(check(&typed(b'Q', b"select '\xff'\0"), Phase::Typed).0);
    assert_eq!(v.code, "22021");
    // The function call sub-protocol.
    let v = rejected(check(&typed(b'F', b"\0\0\0\x01"), Phase::Typed).0);
    assert_eq!((v.code, v.fatal), ("0A000", false));
}

#[test]
fn broken_frames_are_fatal() {
    let v = rejected(check(b"Z\0\0\0\x04", Phase::Typed).0);
    assert!(v.fatal && v.message.contains("invalid frontend message type 90"));
    let v = rejected(check(b"Q\0\0\0\x02", Phase::Typed).0);
    assert!(v.fatal && v.message.contains("invalid message length"));
    let v = rejected(check(b"S\0\x01\0\0", Phase::Typed).0);
    assert!(v.fatal, "a Sync over the small-message limit");
    let v = rejected(check(&typed(b'p', b"secret\0"), Phase::Typed).0);
    assert!(v.fatal);
}

#[test]
fn startup_packets() {
    let s = startup(&[("user", "prism"), ("database", "prism")]);
    assert_eq!(
        check(&s, Phase::Startup),
        (Check::Pass(s.len()), Phase::Typed)
    );
    let ssl = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
    assert_eq!(
        check(&ssl, Phase::Startup),
        (Check::Answer(8, b'N'), Phase::Startup)
    );
    let gss = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30];
    assert_eq!(
        check(&gss, Phase::Startup),
        (Check::Answer(8, b'N'), Phase::Startup)
    );
    let mut cancel = vec![0, 0, 0, 16, 0x04, 0xd2, 0x16, 0x2e];
    cancel.extend_from_slice(&[0, 0, 0, 7, 1, 2, 3, 4]);
    assert_eq!(
        check(&cancel, Phase::Startup),
        (Check::Pass(16), Phase::Closed)
    );
    // Protocol 2.0.
    let old = [0, 0, 0, 9, 0, 2, 0, 0, 0];
    let (c, phase) = check(&old, Phase::Startup);
    assert_eq!((rejected(c).code, phase), ("0A000", Phase::Closed));
    // A TLS ClientHello sent without asking first.
    let (c, _) = check(&[0x16, 3, 1, 2, 0, 1, 0, 1, 0xfc], Phase::Startup);
    assert!(rejected(c).fatal);
    // Parameters without their terminator.
    let mut bad = startup(&[("user", "prism")]);
    bad.pop();
    let len = (bad.len() as u32).to_be_bytes();
    bad[..4].copy_from_slice(&len);
    assert!(rejected(check(&bad, Phase::Startup).0).fatal);
}

/// Any bytes: the checks never panic, never pass or drop more than the
/// buffer holds, and a passed typed message is exactly its declared frame.
fn any_phase() -> impl Strategy<Value = Phase> {
    prop_oneof![Just(Phase::Startup), Just(Phase::Typed)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn checks_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64), phase in any_phase()) {
        let (c, _) = check(&bytes, phase);
        match c {
            Check::Incomplete => {}
            Check::Pass(n) | Check::Answer(n, _) | Check::Reject(n, _) => {
                prop_assert!(n <= bytes.len());
                if let (Check::Pass(n), Phase::Typed) = (&check(&bytes, phase).0, phase) {
                    let declared = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]) as usize;
                    prop_assert_eq!(*n, declared + 1);
                }
            }
        }
    }

    #[test]
    fn well_formed_queries_always_pass(sql in "[ -~]{0,40}") {
        let mut body = sql.into_bytes();
        body.push(0);
        let m = typed(b'Q', &body);
        prop_assert_eq!(check(&m, Phase::Typed).0, Check::Pass(m.len()));
    }
}

#[tokio::test]
async fn the_stream_passes_good_messages_answers_ssl_and_reports_violations() {
    let (client, server) = tokio::io::duplex(1 << 16);
    let mut guarded = GuardedStream::new(server);
    let (mut client_read, mut client_write) = tokio::io::split(client);
    let mut input = vec![0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
    let start = startup(&[("user", "prism")]);
    input.extend_from_slice(&start);
    let good = typed(b'Q', b"select 1\0");
    input.extend_from_slice(&good);
    input.extend(typed(b'Q', b"select 1\0x\0"));
    let after = typed(b'S', b"");
    input.extend_from_slice(&after);
    client_write.write_all(&input).await.unwrap();
    client_write.shutdown().await.unwrap();

    let mut read = Vec::new();
    let mut chunk = [0u8; 256];
    let err = loop {
        match guarded.read(&mut chunk).await {
            Ok(0) => panic!("the violation was not reported"),
            Ok(n) => read.extend_from_slice(&chunk[..n]),
            Err(e) => break e,
        }
    };
    let mut expected = start.clone();
    expected.extend_from_slice(&good);
    assert_eq!(read, expected);
    let v = violation(&err).expect("a violation");
    assert!(!v.fatal);
    // The refused SSL request was answered.
    let mut answer = [0u8; 1];
    client_read.read_exact(&mut answer).await.unwrap();
    assert_eq!(answer[0], b'N');
    // After the bad message, the stream goes on with the next one.
    let mut rest = Vec::new();
    guarded.read_to_end(&mut rest).await.unwrap();
    assert_eq!(rest, after);
}
