//! The ingest journal's file format: what is read back after a restart, a torn or corrupt tail,
//! reused segments, and one writer at a time.

use std::collections::BTreeMap;
use std::path::Path;

use firebreak_domain::{AlertAction, AlertEvent, Kind, Link, Severity};
use firebreak_store::journal::{self, Journal, RECORD_HEADER_BYTES};

use crate::at;

/// Segments of 4 KiB, so that a few records fill one.
const SEGMENT: u64 = 4096;

fn open(dir: &Path, applied: u64) -> (Journal, Vec<(u64, Vec<u8>)>) {
    let (journal, records) = Journal::open_with_segments_of(dir, applied, SEGMENT).unwrap();
    (journal, records.into_iter().map(|record| (record.seq, record.payload)).collect())
}

fn payload(n: u64, len: usize) -> Vec<u8> {
    format!("{n:0len$}").into_bytes()
}

fn segment_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".seg"))
        .collect();
    names.sort();
    names
}

#[test]
fn records_come_back_in_order_after_a_reopen_from_the_last_applied_one() {
    let dir = tempfile::tempdir().unwrap();
    let (mut journal, records) = open(dir.path(), 0);
    assert!(records.is_empty());
    for n in 1..=3 {
        assert_eq!(journal.append(at(n as i64), &payload(n, 10)).unwrap(), n);
    }
    drop(journal);

    let (journal, records) = open(dir.path(), 0);
    assert_eq!(records, (1..=3).map(|n| (n, payload(n, 10))).collect::<Vec<_>>());
    assert_eq!(journal.next_seq(), 4);
    drop(journal);
    let (_, records) = Journal::open_with_segments_of(dir.path(), 2, SEGMENT).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!((records[0].seq, records[0].at), (3, at(3)));
}

#[test]
fn numbering_continues_after_what_the_database_applied() {
    let dir = tempfile::tempdir().unwrap();
    let (mut journal, _) = open(dir.path(), 41);
    assert_eq!(journal.append(at(0), b"x").unwrap(), 42);
}

#[test]
fn reading_stops_at_a_torn_or_corrupt_record() {
    let dir = tempfile::tempdir().unwrap();
    let (mut journal, _) = open(dir.path(), 0);
    journal.append(at(1), &payload(1, 100)).unwrap();
    journal.append(at(2), &payload(2, 100)).unwrap();
    journal.append(at(3), &payload(3, 100)).unwrap();
    drop(journal);
    let segment = dir.path().join(&segment_files(dir.path())[0]);
    let mut data = std::fs::read(&segment).unwrap();
    // One flipped byte in the second record's payload: it and everything after are dropped.
    data[2 * RECORD_HEADER_BYTES + 100 + 50] ^= 1;
    std::fs::write(&segment, &data).unwrap();

    let (mut journal, records) = open(dir.path(), 0);
    assert_eq!(records, vec![(1, payload(1, 100))]);
    // New records follow the last good one, in a new segment.
    assert_eq!(journal.append(at(4), b"after").unwrap(), 2);
    drop(journal);
    let (_, records) = open(dir.path(), 0);
    assert_eq!(records, vec![(1, payload(1, 100)), (2, b"after".to_vec())]);
}

#[test]
fn applied_segments_are_reused_and_their_old_records_never_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let (mut journal, _) = open(dir.path(), 0);
    // Three records of 1,500 bytes fill a 4 KiB segment with two.
    for n in 1..=6 {
        journal.append(at(n as i64), &payload(n, 1500)).unwrap();
    }
    assert_eq!(journal.segments(), 3);
    journal.release(4).unwrap();
    assert_eq!(journal.segments(), 1);
    // The spare made at open became the second segment; the first is the spare now.
    assert_eq!(segment_files(dir.path()), vec!["00000000000000000005.seg", "spare.seg"]);
    // The spare becomes the next segment, its old records still in it.
    for n in 7..=8 {
        journal.append(at(n as i64), &payload(n, 1500)).unwrap();
    }
    assert_eq!(segment_files(dir.path()), vec!["00000000000000000005.seg", "00000000000000000007.seg"]);
    drop(journal);
    let (_, records) = open(dir.path(), 4);
    assert_eq!(records.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(), vec![5, 6, 7, 8]);
    assert_eq!(records[3], (8, payload(8, 1500)));

    // Everything applied: on reopen the old segments are let go.
    let (journal, records) = open(dir.path(), 8);
    assert!(records.is_empty());
    assert_eq!(journal.segments(), 1);
    // The spare became the new current segment, the first of the old ones the spare, and the
    // second was removed.
    assert_eq!(segment_files(dir.path()), vec!["00000000000000000009.seg", "spare.seg"]);
}

#[test]
fn a_spare_is_ready_from_the_start_so_that_no_segment_is_zeroed_while_appending() {
    let dir = tempfile::tempdir().unwrap();
    let (mut journal, _) = open(dir.path(), 0);
    assert_eq!(segment_files(dir.path()), vec!["00000000000000000001.seg", "spare.seg"]);
    let spare = dir.path().join("spare.seg");
    assert_eq!(std::fs::metadata(&spare).unwrap().len(), SEGMENT);
    // Write a mark into the spare: the segment that the third record opens is that very file.
    let mut data = std::fs::read(&spare).unwrap();
    data[SEGMENT as usize - 1] = 0xa5;
    std::fs::write(&spare, &data).unwrap();
    for n in 1..=3 {
        journal.append(at(n as i64), &payload(n, 1500)).unwrap();
    }
    assert_eq!(segment_files(dir.path()), vec!["00000000000000000001.seg", "00000000000000000003.seg"]);
    let second = std::fs::read(dir.path().join("00000000000000000003.seg")).unwrap();
    assert_eq!(second[SEGMENT as usize - 1], 0xa5);
    drop(journal);
    let (_, records) = open(dir.path(), 0);
    assert_eq!(records.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(), vec![1, 2, 3]);
}

#[test]
fn a_record_larger_than_a_segment_gets_a_segment_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let (mut journal, _) = open(dir.path(), 0);
    journal.append(at(1), &payload(1, 10_000)).unwrap();
    journal.append(at(2), b"small").unwrap();
    drop(journal);
    let (_, records) = open(dir.path(), 0);
    assert_eq!(records, vec![(1, payload(1, 10_000)), (2, b"small".to_vec())]);
}

#[test]
fn a_second_writer_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_journal, _) = open(dir.path(), 0);
    let err = Journal::open_with_segments_of(dir.path(), 0, SEGMENT).err().expect("the journal is locked");
    assert!(err.to_string().contains("in use by another process"), "{err}");
}

#[test]
fn events_survive_encoding() {
    let events = vec![
        AlertEvent {
            action: AlertAction::Trigger,
            dedup_key: Some("disk \"full\"\n".to_owned()),
            summary: "Disk full on db-1 ✓".to_owned(),
            source: "db-1".to_owned(),
            severity: Severity::Sev2,
            kind: Kind::Signal,
            occurred_at: Some(at(5)),
            labels: BTreeMap::from([
                ("team".to_owned(), "db".to_owned()),
                ("env".to_owned(), "prod".to_owned()),
            ]),
            details: r#"{"free": "0 B"}"#.to_owned(),
            links: vec![
                Link { title: "runbook".to_owned(), url: "https://example.com/r".to_owned() },
                Link { title: "graph \"p99\"".to_owned(), url: "https://example.com/g?a=1&b=2".to_owned() },
            ],
        },
        AlertEvent {
            action: AlertAction::Resolve,
            dedup_key: None,
            summary: String::new(),
            source: String::new(),
            severity: Severity::Sev4,
            kind: Kind::Unknown,
            occurred_at: None,
            labels: BTreeMap::new(),
            details: String::new(),
            links: Vec::new(),
        },
    ];
    let mut payload = Vec::new();
    journal::encode_events(7, &events, &mut payload);
    journal::encode_events(8, &events[..1], &mut payload);
    let items = journal::decode_events(&payload).unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items.iter().map(|item| item.service_id).collect::<Vec<_>>(), vec![7, 7, 8]);
    assert_eq!(items[0].event, events[0]);
    assert_eq!(items[1].event, events[1]);
    assert!(journal::decode_events(b"{\"service_id\": 1}\n").is_err());
}
