//! Evidence on a case: files from the portal and from email, checked against the limits and
//! sniffed from their content, stored once by content hash. Identity documents (the
//! verification category, or marked as such) are shown only to tier 2, supervisors and
//! compliance, and their content is deleted after the retention period, leaving the record.

use crate::cases::entry;
use crate::objects::{self, Kind, Limits, ObjectStore, StoreFailure};
use crate::{ServiceError, new_id};
use serde_json::json;
use thaw_domain::case::Case;
use thaw_domain::{CaseCategory, Invalid, Role};
use thaw_store::{Attachment, Capabilities, Db, StoreError};

/// Where evidence lives and what is accepted.
#[derive(Debug, Clone)]
pub struct Evidence {
    pub store: ObjectStore,
    pub limits: Limits,
    /// Identity documents' content is deleted this long after upload.
    pub identity_retention_ms: i64,
}

impl Default for Evidence {
    fn default() -> Self {
        Evidence {
            store: ObjectStore::local("thaw-data/evidence"),
            limits: Limits::default(),
            identity_retention_ms: 30 * 86_400_000,
        }
    }
}

/// A file as uploaded.
#[derive(Debug, Clone)]
pub struct Upload {
    pub filename: String,
    pub declared_type: String,
    pub bytes: Vec<u8>,
    /// Marked by the uploader as an identity document.
    pub identity: bool,
}

fn unavailable(store: &ObjectStore, e: StoreFailure) -> ServiceError {
    tracing::error!(store = %store.describe(), error = %e, "evidence storage failed");
    ServiceError::Store(StoreError::Unreachable { url: store.describe(), cause: e.to_string() })
}

/// A file name safe to show and to send back in Content-Disposition.
fn clean_name(name: &str, kind: Kind) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>' | ';'))
        .take(120)
        .collect::<String>()
        .trim()
        .to_string();
    if cleaned.is_empty() || cleaned.starts_with('.') { format!("evidence.{}", kind.extension()) } else { cleaned }
}

/// Checks files against the limits and their content, naming the first refused file and rule.
pub fn check_all(evidence: &Evidence, files: &[Upload]) -> Result<Vec<Kind>, ServiceError> {
    if files.is_empty() {
        return Ok(vec![]);
    }
    objects::check_count(files.len(), &evidence.limits).map_err(|r| refused(&r, None))?;
    files
        .iter()
        .map(|f| {
            objects::check(&f.bytes, &f.declared_type, &evidence.limits).map_err(|r| refused(&r, Some(&f.filename)))
        })
        .collect()
}

/// Checks every file first (nothing is stored if one is refused), then stores them and
/// records them on the case.
pub async fn attach(
    db: &Db,
    evidence: &Evidence,
    case: &Case,
    uploaded_by: &str,
    message_id: Option<&str>,
    files: Vec<Upload>,
    now_ms: i64,
) -> Result<Vec<Attachment>, ServiceError> {
    if files.is_empty() {
        return Ok(vec![]);
    }
    objects::check_count(files.len(), &evidence.limits).map_err(|r| refused(&r, None))?;
    let mut checked = vec![];
    for f in files {
        let kind =
            objects::check(&f.bytes, &f.declared_type, &evidence.limits).map_err(|r| refused(&r, Some(&f.filename)))?;
        checked.push((kind, f));
    }
    let mut rows = vec![];
    for (kind, f) in &checked {
        let key = evidence.store.put(&f.bytes).await.map_err(|e| unavailable(&evidence.store, e))?;
        rows.push(Attachment {
            id: new_id(),
            case_id: case.id.clone(),
            message_id: message_id.map(str::to_string),
            sha256: key,
            size: f.bytes.len() as i64,
            content_type: kind.mime().to_string(),
            filename: clean_name(&f.filename, *kind),
            identity_document: f.identity || case.category == CaseCategory::Verification,
            uploaded_by: uploaded_by.to_string(),
            created_at_ms: now_ms,
            deleted_at_ms: None,
        });
    }
    let mut tx = db.begin_write().await?;
    for a in &rows {
        tx.cases().add_attachment(a).await?;
    }
    let names: Vec<&str> = rows.iter().map(|a| a.filename.as_str()).collect();
    let data = json!({"files": names});
    tx.cases().add_timeline(&entry(&case.id, uploaded_by, "attached", data, true, now_ms)).await?;
    tx.cases().changed(&case.id, &case.account_id, now_ms).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(rows)
}

fn refused(r: &objects::Refused, filename: Option<&str>) -> ServiceError {
    let prefix = filename
        .map(|n| format!("attachment '{}': ", n.chars().take(80).collect::<String>()))
        .unwrap_or_else(|| "attachment: ".into());
    Invalid::new("attachment", r.code(), format!("{prefix}{r}")).into()
}

/// Whether a staff member of `role` may see this attachment's content.
pub fn staff_may_see(role: Role, a: &Attachment) -> bool {
    !a.identity_document || matches!(role, Role::AgentT2 | Role::Supervisor | Role::Compliance)
}

/// The content of an attachment (None once deleted).
pub async fn content(evidence: &Evidence, a: &Attachment) -> Result<Option<Vec<u8>>, ServiceError> {
    if a.deleted_at_ms.is_some() {
        return Ok(None);
    }
    evidence.store.get(&a.sha256).await.map_err(|e| unavailable(&evidence.store, e))
}

/// Deletes the content of identity documents past their retention; the records stay, marked.
/// Returns how many were deleted.
pub async fn retention_sweep(db: &Db, evidence: &Evidence, now_ms: i64) -> Result<usize, ServiceError> {
    let due = {
        let mut conn = db.conn().await?;
        conn.cases().identity_documents_due(now_ms - evidence.identity_retention_ms, 200).await?
    };
    let mut deleted = 0;
    for a in due {
        let mut tx = db.begin_write().await?;
        if !tx.cases().mark_attachment_deleted(&a.id, now_ms).await? {
            continue;
        }
        let still_used = tx.cases().content_in_use(&a.sha256).await?;
        let data = json!({"file": a.filename, "attachment": a.id});
        tx.cases().add_timeline(&entry(&a.case_id, "thaw", "identity_document_deleted", data, true, now_ms)).await?;
        tx.commit().await.map_err(StoreError::from)?;
        if !still_used {
            evidence.store.delete(&a.sha256).await.map_err(|e| unavailable(&evidence.store, e))?;
        }
        deleted += 1;
    }
    Ok(deleted)
}
