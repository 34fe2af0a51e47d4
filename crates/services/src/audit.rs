//! The audit log as staff use it: search, CSV export and verification of the hash chain.
//! Entries are written by the store in the transaction of each change (`thaw_store::audit`).

use crate::ServiceError;
use thaw_store::audit::{AuditQuery, Entry, Verdict};
use thaw_store::{Capabilities, Db};

/// At most this many entries in one search page or export.
pub const MAX_ROWS: i64 = 10_000;

pub async fn search(db: &Db, q: &AuditQuery, limit: i64) -> Result<Vec<Entry>, ServiceError> {
    Ok(db.conn().await?.audit().search(q, limit.clamp(1, MAX_ROWS)).await?)
}

/// Walks the chain; `progress` hears how many entries were checked.
pub async fn verify(db: &Db, progress: impl FnMut(i64)) -> Result<Verdict, ServiceError> {
    Ok(db.conn().await?.audit().verify(progress).await?)
}

/// The entries as CSV (RFC 4180), with a header row.
pub fn to_csv(entries: &[Entry]) -> String {
    let mut out =
        csv_row(&["seq", "at", "actor", "ip", "action", "subject_type", "subject_id", "before", "after", "hash"]);
    for e in entries {
        out.push_str(&csv_row(&[
            &e.seq.to_string(),
            &crate::rfc3339(e.at_ms),
            &e.actor,
            e.ip.as_deref().unwrap_or(""),
            &e.action,
            &e.subject_type,
            &e.subject_id,
            e.before.as_deref().unwrap_or(""),
            e.after.as_deref().unwrap_or(""),
            &e.hash,
        ]));
    }
    out
}

/// One CSV line. Cells are quoted when needed, and a cell a spreadsheet would run as a formula
/// (starting with `=`, `+`, `-`, `@`, tab or carriage return) is prefixed with `'`.
pub fn csv_row(cells: &[&str]) -> String {
    let mut line = String::new();
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        let cell = if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) && cell.parse::<f64>().is_err() {
            format!("'{cell}")
        } else {
            cell.to_string()
        };
        if cell.contains([',', '"', '\n', '\r']) {
            line.push('"');
            line.push_str(&cell.replace('"', "\"\""));
            line.push('"');
        } else {
            line.push_str(&cell);
        }
    }
    line.push_str("\r\n");
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_row(&["a", "b,c", "say \"hi\""]), "a,\"b,c\",\"say \"\"hi\"\"\"\r\n");
        assert_eq!(csv_row(&["=HYPERLINK(\"x\")", "-5", "@SUM(A1)"]), "\"'=HYPERLINK(\"\"x\"\")\",-5,'@SUM(A1)\r\n");
        assert_eq!(csv_row(&["line\nbreak"]), "\"line\nbreak\"\r\n");
    }
}
