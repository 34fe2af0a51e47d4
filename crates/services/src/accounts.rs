//! The platform's mirror of its users.

use crate::{ServiceError, now_ms};
use thaw_domain::{Account, AccountId, AccountInput};
use thaw_store::accounts::Upserted;
use thaw_store::{Capabilities, Db};

pub use thaw_store::accounts::Upserted as UpsertOutcome;

pub async fn upsert(db: &Db, id: &str, input: AccountInput) -> Result<(Account, Upserted), ServiceError> {
    let id = AccountId::parse("id", id)?;
    let account = input.validate(id, now_ms())?;
    let outcome = db.conn().await?.accounts().upsert(&account).await?;
    Ok((account, outcome))
}

pub async fn get(db: &Db, id: &str) -> Result<Account, ServiceError> {
    let id = AccountId::parse("id", id).map_err(|_| ServiceError::NotFound("account"))?;
    db.conn().await?.accounts().get(&id).await?.ok_or(ServiceError::NotFound("account"))
}

pub async fn list(db: &Db, prefix: Option<&str>, limit: i64, offset: i64) -> Result<(Vec<Account>, i64), ServiceError> {
    Ok(db.conn().await?.accounts().list(prefix.map(str::trim), limit.clamp(1, 200), offset.max(0)).await?)
}
