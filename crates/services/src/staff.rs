//! Creating staff members.

use crate::{ServiceError, new_id, now_ms, passwords};
use thaw_domain::{NewStaff, StaffMember};
use thaw_store::{Capabilities, Db, StoreError};

/// Creates a staff member with this password. A second member with the same email is refused
/// and nothing is changed.
pub async fn create(db: &Db, new: &NewStaff, password: &str) -> Result<StaffMember, ServiceError> {
    passwords::check_strength(password)?;
    if db.conn().await?.staff().exists_email(&new.email).await? {
        return Err(duplicate(new));
    }
    let hash = passwords::hash(password);
    let mut tx = db.begin_write().await?;
    let member = tx.staff().create(&new_id(), new, &hash, now_ms()).await.map_err(|e| match e {
        StoreError::Duplicate(_) => duplicate(new),
        e => e.into(),
    })?;
    // Every staff member has a public agent ID holders can check at /check.
    tx.channels().assign_agent_ids(now_ms()).await?;
    tx.commit().await.map_err(thaw_store::StoreError::from)?;
    Ok(member)
}

fn duplicate(new: &NewStaff) -> ServiceError {
    ServiceError::Duplicate {
        field: "email",
        message: format!("a staff member with email {} exists already", new.email),
    }
}
