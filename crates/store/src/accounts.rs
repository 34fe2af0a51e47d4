//! The mirrored accounts of the platform's users.

use crate::{Result, StoreError};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use thaw_domain::{Account, AccountId, Email, Locale, Phone};

pub struct Accounts<'c>(pub(crate) &'c mut AnyConnection);

/// Whether an upsert created the account or replaced an existing copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    Created,
    Updated,
}

const COLUMNS: &str = "id, email, phone, locale, kyc_level, vip_level, created_at, updated_at";

impl Accounts<'_> {
    /// Stores the platform's copy of an account, creating or replacing it.
    pub async fn upsert(&mut self, a: &Account) -> Result<Upserted> {
        if self.insert_if_absent(a).await? {
            return Ok(Upserted::Created);
        }
        sqlx::query(
            "UPDATE accounts SET email = $1, email_normalized = $2, phone = $3, locale = $4, kyc_level = $5,
             vip_level = $6, created_at = $7, updated_at = $8 WHERE id = $9",
        )
        .bind(a.email.as_ref().map(|e| e.as_str().to_string()))
        .bind(a.email.as_ref().map(|e| e.normalized()))
        .bind(a.phone.as_ref().map(|p| p.as_str().to_string()))
        .bind(a.locale.code())
        .bind(a.kyc_level)
        .bind(a.vip_level)
        .bind(a.created_at_ms)
        .bind(a.updated_at_ms)
        .bind(a.id.as_str())
        .execute(&mut *self.0)
        .await?;
        Ok(Upserted::Updated)
    }

    /// Stores the account only if thaw does not know it yet (demo seeding, on-the-fly creation).
    pub async fn insert_if_absent(&mut self, a: &Account) -> Result<bool> {
        let n = sqlx::query(
            "INSERT INTO accounts (id, email, email_normalized, phone, locale, kyc_level, vip_level, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
        )
        .bind(a.id.as_str())
        .bind(a.email.as_ref().map(|e| e.as_str().to_string()))
        .bind(a.email.as_ref().map(|e| e.normalized()))
        .bind(a.phone.as_ref().map(|p| p.as_str().to_string()))
        .bind(a.locale.code())
        .bind(a.kyc_level)
        .bind(a.vip_level)
        .bind(a.created_at_ms)
        .bind(a.updated_at_ms)
        .execute(&mut *self.0)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    pub async fn get(&mut self, id: &AccountId) -> Result<Option<Account>> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM accounts WHERE id = $1"));
        let row = sqlx::query(sql).bind(id.as_str()).fetch_optional(&mut *self.0).await?;
        row.map(|r| from_row(&r)).transpose()
    }

    /// A page of accounts, newest first, optionally only those whose id or email starts with
    /// `prefix` (case-insensitive). Returns the page and the total number of matches.
    pub async fn list(&mut self, prefix: Option<&str>, limit: i64, offset: i64) -> Result<(Vec<Account>, i64)> {
        let Some(prefix) = prefix.filter(|p| !p.is_empty()) else {
            let total = self.count().await?;
            let sql = sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM accounts ORDER BY created_at DESC, id LIMIT $1 OFFSET $2"
            ));
            let rows = sqlx::query(sql).bind(limit).bind(offset).fetch_all(&mut *self.0).await?;
            return Ok((rows.iter().map(from_row).collect::<Result<_>>()?, total));
        };
        let pattern = format!("{}%", escape_like(&prefix.to_lowercase()));
        const FILTER: &str = "WHERE (LOWER(id) LIKE $1 ESCAPE '\\' OR email_normalized LIKE $1 ESCAPE '\\')";
        let total: i64 = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) AS n FROM accounts {FILTER}")))
            .bind(&pattern)
            .fetch_one(&mut *self.0)
            .await?
            .try_get("n")?;
        let sql = format!("SELECT {COLUMNS} FROM accounts {FILTER} ORDER BY created_at DESC, id LIMIT $2 OFFSET $3");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&pattern)
            .bind(limit)
            .bind(offset)
            .fetch_all(&mut *self.0)
            .await?;
        Ok((rows.iter().map(from_row).collect::<Result<_>>()?, total))
    }

    /// The account with this email (normalised), the most recently updated when several share it.
    pub async fn by_email(&mut self, email_normalized: &str) -> Result<Option<Account>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM accounts WHERE email_normalized = $1 ORDER BY updated_at DESC, id LIMIT 1"
        ));
        let row = sqlx::query(sql).bind(email_normalized).fetch_optional(&mut *self.0).await?;
        row.map(|r| from_row(&r)).transpose()
    }

    pub async fn anti_phishing_code(&mut self, id: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT anti_phishing_code FROM accounts WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self.0)
            .await?;
        Ok(row.map(|r| r.try_get::<Option<String>, _>("anti_phishing_code")).transpose()?.flatten())
    }

    pub async fn set_anti_phishing_code(&mut self, id: &str, code: &str, now_ms: i64) -> Result<bool> {
        let n = sqlx::query("UPDATE accounts SET anti_phishing_code = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(code)
            .bind(now_ms)
            .execute(&mut *self.0)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    pub async fn count(&mut self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM accounts").fetch_one(&mut *self.0).await?.try_get("n")?)
    }
}

pub(crate) fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

fn from_row(r: &AnyRow) -> Result<Account> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("account {what}"));
    let id: String = r.try_get("id")?;
    Ok(Account {
        id: AccountId::parse("id", &id).map_err(|_| corrupt("id"))?,
        email: r
            .try_get::<Option<String>, _>("email")?
            .map(|e| Email::parse("email", &e))
            .transpose()
            .map_err(|_| corrupt("email"))?,
        phone: r
            .try_get::<Option<String>, _>("phone")?
            .map(|p| Phone::parse("phone", &p))
            .transpose()
            .map_err(|_| corrupt("phone"))?,
        locale: Locale::parse(&r.try_get::<String, _>("locale")?).ok_or_else(|| corrupt("locale"))?,
        kyc_level: r.try_get("kyc_level")?,
        vip_level: r.try_get("vip_level")?,
        created_at_ms: r.try_get("created_at")?,
        updated_at_ms: r.try_get("updated_at")?,
    })
}
