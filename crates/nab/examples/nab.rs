//! Runs the detector over the NAB corpus and prints the scores:
//! `cargo run --release -p firebreak-nab --example nab -- <nab root> <results folder>`.
//!
//! With a third argument, scores an existing results folder instead: `... -- <nab root> <results folder>
//! <detector name>` scores `<results folder>/<detector name>/...` without running anything.

use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (data_dir, out_dir) = match (args.first(), args.get(1)) {
        (Some(data_dir), Some(out_dir)) => (PathBuf::from(data_dir), PathBuf::from(out_dir)),
        _ => anyhow::bail!("usage: nab <nab root> <results folder> [detector name]"),
    };
    let report = match args.get(2) {
        Some(detector) => firebreak_nab::score(&data_dir, &out_dir, detector)?,
        None => firebreak_nab::run(&data_dir, &out_dir, &mut |line| eprintln!("{line}"))?,
    };
    println!("{report}");
    Ok(())
}
