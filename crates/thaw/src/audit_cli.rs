//! `thaw audit`: verify the audit log's hash chain and export it.

use anyhow::bail;
use clap::Subcommand;
use std::io::Write;
use thaw_store::audit::{AuditQuery, Verdict};

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Walk the hash chain from the first entry and name the first broken one (exit status 1).
    Verify {
        /// The head printed by an earlier verification, `SEQ:HASH`, kept outside the database:
        /// the chain must still contain it (a rewritten log would not).
        #[arg(long)]
        expect_head: Option<String>,
    },
    /// Print entries as CSV, oldest first.
    Export {
        /// Only entries at or after this time (RFC 3339).
        #[arg(long)]
        from: Option<String>,
        /// Only entries before this time (RFC 3339).
        #[arg(long)]
        to: Option<String>,
    },
}

pub async fn run(db: &thaw_store::Db, cmd: AuditCommand) -> anyhow::Result<()> {
    match cmd {
        AuditCommand::Verify { expect_head } => verify(db, expect_head).await,
        AuditCommand::Export { from, to } => {
            let parse = |name: &str, v: Option<String>| -> anyhow::Result<Option<i64>> {
                v.map(|t| {
                    t.parse::<jiff::Timestamp>()
                        .map(|t| t.as_millisecond())
                        .map_err(|e| anyhow::anyhow!("--{name}: not an RFC 3339 time ({e})"))
                })
                .transpose()
            };
            let q = AuditQuery { from_ms: parse("from", from)?, to_ms: parse("to", to)?, ..Default::default() };
            let mut entries = thaw_services::audit::search(db, &q, thaw_services::audit::MAX_ROWS).await?;
            entries.reverse();
            print!("{}", thaw_services::audit::to_csv(&entries));
            if entries.len() as i64 == thaw_services::audit::MAX_ROWS {
                eprintln!("(the first {} entries; narrow with --from/--to for the rest)", entries.len());
            }
            Ok(())
        }
    }
}

async fn verify(db: &thaw_store::Db, expect_head: Option<String>) -> anyhow::Result<()> {
    let expected = match expect_head.as_deref().map(|h| h.split_once(':')) {
        None => None,
        Some(Some((seq, hash))) if seq.parse::<i64>().is_ok() && hash.len() == 64 => {
            Some((seq.parse::<i64>()?, hash.to_ascii_lowercase()))
        }
        Some(_) => bail!("--expect-head must be SEQ:HASH as printed by an earlier `thaw audit verify`"),
    };
    let verdict = thaw_services::audit::verify(db, |n| {
        eprint!("\rChecked {n} entries");
        let _ = std::io::stderr().flush();
    })
    .await?;
    eprintln!();
    match verdict {
        Verdict::Intact { entries, head_hash } => {
            if let Some((seq, hash)) = expected {
                if seq > entries {
                    bail!("the log has {entries} entries, fewer than the expected head's {seq}: entries were removed");
                }
                let page = db_entry(db, seq).await?;
                if page.as_deref() != Some(hash.as_str()) {
                    bail!("entry {seq} no longer has the expected hash: the log was rewritten from there or before");
                }
            }
            println!("intact: {entries} entries; head {entries}:{head_hash}");
            Ok(())
        }
        Verdict::Broken { seq, problem } => {
            println!("BROKEN at entry {seq}: {problem}");
            std::process::exit(1);
        }
    }
}

async fn db_entry(db: &thaw_store::Db, seq: i64) -> anyhow::Result<Option<String>> {
    use thaw_store::Capabilities;
    let mut conn = db.conn().await?;
    Ok(conn.audit().page(seq - 1, 1).await?.into_iter().find(|e| e.seq == seq).map(|e| e.hash))
}
