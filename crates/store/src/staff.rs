//! Staff members and their password hashes.

use crate::{Result, StoreError, duplicate_as};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use thaw_domain::case::authority::StaffLimits;
use thaw_domain::{Email, Locale, NewStaff, Role, Skills, StaffMember, StaffProfile};

pub struct Staff<'c>(pub(crate) &'c mut AnyConnection);

/// A staff member with the password hash, for sign-in only.
pub struct StaffCredentials {
    pub member: StaffMember,
    pub password_hash: String,
}

const COLUMNS: &str = "id, email, display_name, role, password_hash, skill_categories, skill_languages, capacity, locale, active, created_at";

impl Staff<'_> {
    /// Creates a staff member; a second member with the same email (any case) is refused.
    pub async fn create(&mut self, id: &str, s: &NewStaff, password_hash: &str, now_ms: i64) -> Result<StaffMember> {
        let categories: Vec<&str> = s.skills.categories.iter().map(|c| c.code()).collect();
        let languages: Vec<&str> = s.skills.languages.iter().map(|l| l.code()).collect();
        sqlx::query(
            "INSERT INTO staff (id, email, email_normalized, display_name, role, password_hash, skill_categories,
             skill_languages, capacity, locale, active, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $11)",
        )
        .bind(id)
        .bind(s.email.as_str())
        .bind(s.email.normalized())
        .bind(&s.display_name)
        .bind(s.role.code())
        .bind(password_hash)
        .bind(categories.join(","))
        .bind(languages.join(","))
        .bind(s.capacity)
        .bind(s.locale.code())
        .bind(now_ms)
        .execute(&mut *self.0)
        .await
        .map_err(duplicate_as("email"))?;
        let change = crate::audit::Change {
            action: "staff.created",
            subject_type: "staff",
            subject_id: id,
            after: Some(serde_json::json!({
                "email": s.email.as_str(), "display_name": s.display_name, "role": s.role.code(),
                "skills": categories, "languages": languages, "capacity": s.capacity,
            })),
            at_ms: now_ms,
            ..Default::default()
        };
        crate::audit::record(self.0, change).await?;
        Ok(StaffMember {
            id: id.to_string(),
            email: s.email.clone(),
            display_name: s.display_name.clone(),
            role: s.role,
            skills: s.skills.clone(),
            capacity: s.capacity,
            locale: s.locale,
            active: true,
            created_at_ms: now_ms,
        })
    }

    pub async fn by_id(&mut self, id: &str) -> Result<Option<StaffMember>> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM staff WHERE id = $1"));
        let row = sqlx::query(sql).bind(id).fetch_optional(&mut *self.0).await?;
        row.map(|r| member_from_row(&r)).transpose()
    }

    pub async fn credentials_by_email(&mut self, email: &Email) -> Result<Option<StaffCredentials>> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM staff WHERE email_normalized = $1"));
        let row = sqlx::query(sql).bind(email.normalized()).fetch_optional(&mut *self.0).await?;
        row.map(|r| Ok(StaffCredentials { member: member_from_row(&r)?, password_hash: r.try_get("password_hash")? }))
            .transpose()
    }

    pub async fn exists_email(&mut self, email: &Email) -> Result<bool> {
        let row = sqlx::query("SELECT id FROM staff WHERE email_normalized = $1")
            .bind(email.normalized())
            .fetch_optional(&mut *self.0)
            .await?;
        Ok(row.is_some())
    }

    pub async fn list(&mut self) -> Result<Vec<StaffMember>> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM staff ORDER BY role, email_normalized"));
        let rows = sqlx::query(sql).fetch_all(&mut *self.0).await?;
        rows.iter().map(member_from_row).collect()
    }

    pub async fn set_locale(&mut self, id: &str, locale: Locale, now_ms: i64) -> Result<()> {
        sqlx::query("UPDATE staff SET locale = $1, updated_at = $2 WHERE id = $3")
            .bind(locale.code())
            .bind(now_ms)
            .bind(id)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    pub async fn set_password_hash(&mut self, id: &str, hash: &str, now_ms: i64) -> Result<bool> {
        let n = sqlx::query("UPDATE staff SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(hash)
            .bind(now_ms)
            .bind(id)
            .execute(&mut *self.0)
            .await?
            .rows_affected();
        if n == 1 {
            // Never the hash itself: only that it changed.
            let change = crate::audit::Change {
                action: "staff.password_changed",
                subject_type: "staff",
                subject_id: id,
                at_ms: now_ms,
                ..Default::default()
            };
            crate::audit::record(self.0, change).await?;
        }
        Ok(n == 1)
    }

    /// The member's own limits (empty: their role's defaults).
    pub async fn limits(&mut self, id: &str) -> Result<StaffLimits> {
        let row = sqlx::query("SELECT limits FROM staff WHERE id = $1").bind(id).fetch_optional(&mut *self.0).await?;
        match row {
            Some(r) => serde_json::from_str(&r.try_get::<String, _>("limits")?)
                .map_err(|_| StoreError::Corrupt("staff limits".into())),
            None => Ok(StaffLimits::default()),
        }
    }

    pub async fn set_limits(&mut self, id: &str, limits: &StaffLimits, now_ms: i64) -> Result<bool> {
        let before = self.limits(id).await?;
        let n = sqlx::query("UPDATE staff SET limits = $1, updated_at = $2 WHERE id = $3")
            .bind(serde_json::to_string(limits).expect("serialisable"))
            .bind(now_ms)
            .bind(id)
            .execute(&mut *self.0)
            .await?
            .rows_affected();
        if n == 1 {
            let change = crate::audit::Change {
                action: "staff.limits_changed",
                subject_type: "staff",
                subject_id: id,
                before: serde_json::to_value(&before).ok(),
                after: serde_json::to_value(limits).ok(),
                at_ms: now_ms,
                ..Default::default()
            };
            crate::audit::record(self.0, change).await?;
        }
        Ok(n == 1)
    }

    /// Puts the member in a team (free text such as `zh-desk`; '' for none); analytics groups
    /// by it. False when there is no such member.
    pub async fn set_team(&mut self, id: &str, team: &str, now_ms: i64) -> Result<bool> {
        let n = sqlx::query("UPDATE staff SET team = $1, updated_at = $2 WHERE id = $3")
            .bind(team)
            .bind(now_ms)
            .bind(id)
            .execute(&mut *self.0)
            .await?
            .rows_affected();
        if n == 1 {
            let change = crate::audit::Change {
                action: "staff.team_changed",
                subject_type: "staff",
                subject_id: id,
                after: Some(serde_json::json!({ "team": team })),
                at_ms: now_ms,
                ..Default::default()
            };
            crate::audit::record(self.0, change).await?;
        }
        Ok(n == 1)
    }

    /// The member's team ('' for none).
    pub async fn team(&mut self, id: &str) -> Result<String> {
        let row = sqlx::query("SELECT team FROM staff WHERE id = $1").bind(id).fetch_optional(&mut *self.0).await?;
        Ok(row.map(|r| r.try_get("team")).transpose()?.unwrap_or_default())
    }

    /// Changes what an admin edits on a member; the audit entry carries before and after.
    /// False when there is no such member.
    pub async fn update_profile(&mut self, id: &str, p: &StaffProfile, now_ms: i64) -> Result<bool> {
        let Some(before) = self.by_id(id).await? else {
            return Ok(false);
        };
        let team_before = self.team(id).await?;
        let categories: Vec<&str> = p.skills.categories.iter().map(|c| c.code()).collect();
        let languages: Vec<&str> = p.skills.languages.iter().map(|l| l.code()).collect();
        sqlx::query(
            "UPDATE staff SET display_name = $1, role = $2, skill_categories = $3, skill_languages = $4,
             capacity = $5, active = $6, team = $7, updated_at = $8 WHERE id = $9",
        )
        .bind(&p.display_name)
        .bind(p.role.code())
        .bind(categories.join(","))
        .bind(languages.join(","))
        .bind(p.capacity)
        .bind(i64::from(p.active))
        .bind(&p.team)
        .bind(now_ms)
        .bind(id)
        .execute(&mut *self.0)
        .await?;
        let view = |m: &StaffProfile| {
            serde_json::json!({
                "display_name": m.display_name, "role": m.role.code(),
                "skills": m.skills.categories.iter().map(|c| c.code()).collect::<Vec<_>>(),
                "languages": m.skills.languages.iter().map(|l| l.code()).collect::<Vec<_>>(),
                "capacity": m.capacity, "active": m.active, "team": m.team,
            })
        };
        let old = StaffProfile {
            display_name: before.display_name,
            role: before.role,
            skills: before.skills,
            capacity: before.capacity,
            active: before.active,
            team: team_before,
        };
        if &old != p {
            let change = crate::audit::Change {
                action: "staff.profile_changed",
                subject_type: "staff",
                subject_id: id,
                before: Some(view(&old)),
                after: Some(view(p)),
                at_ms: now_ms,
                ..Default::default()
            };
            crate::audit::record(self.0, change).await?;
        }
        Ok(true)
    }

    /// The member the staff single sign-on provider knows by this subject (`sub`).
    pub async fn by_oidc_subject(&mut self, subject: &str) -> Result<Option<StaffMember>> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM staff WHERE oidc_subject = $1"));
        let row = sqlx::query(sql).bind(subject).fetch_optional(&mut *self.0).await?;
        row.map(|r| member_from_row(&r)).transpose()
    }

    /// Ties a member without a provider subject to one (their first single sign-on, matched by
    /// verified email). False when the member is already tied to a subject or does not exist.
    pub async fn link_oidc_subject(&mut self, id: &str, subject: &str, now_ms: i64) -> Result<bool> {
        let n =
            sqlx::query("UPDATE staff SET oidc_subject = $1, updated_at = $2 WHERE id = $3 AND oidc_subject IS NULL")
                .bind(subject)
                .bind(now_ms)
                .bind(id)
                .execute(&mut *self.0)
                .await
                .map_err(duplicate_as("oidc_subject"))?
                .rows_affected();
        if n == 1 {
            let change = crate::audit::Change {
                action: "staff.sso_linked",
                subject_type: "staff",
                subject_id: id,
                after: Some(serde_json::json!({ "oidc_subject": subject })),
                at_ms: now_ms,
                ..Default::default()
            };
            crate::audit::record(self.0, change).await?;
        }
        Ok(n == 1)
    }

    /// A server-wide setting changed by admins at run time.
    pub async fn setting(&mut self, key: &str) -> Result<Option<String>> {
        let row =
            sqlx::query("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(&mut *self.0).await?;
        Ok(row.map(|r| r.try_get("value")).transpose()?)
    }

    pub async fn set_setting(&mut self, key: &str, value: &str, now_ms: i64) -> Result<()> {
        let before = self.setting(key).await?;
        if before.as_deref() == Some(value) {
            return Ok(());
        }
        let change = crate::audit::Change {
            action: "setting.changed",
            subject_type: "setting",
            subject_id: key,
            before: before.map(|v| serde_json::json!({ "value": v })),
            after: Some(serde_json::json!({ "value": value })),
            at_ms: now_ms,
            ..Default::default()
        };
        crate::audit::record(self.0, change).await?;
        sqlx::query(
            "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(key)
        .bind(value)
        .bind(now_ms)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }
}

fn member_from_row(r: &AnyRow) -> Result<StaffMember> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("staff {what}"));
    let email: String = r.try_get("email")?;
    let skills =
        Skills::parse(&r.try_get::<String, _>("skill_categories")?, &r.try_get::<String, _>("skill_languages")?)
            .map_err(|_| corrupt("skills"))?;
    Ok(StaffMember {
        id: r.try_get("id")?,
        email: Email::parse("email", &email).map_err(|_| corrupt("email"))?,
        display_name: r.try_get("display_name")?,
        role: Role::parse(&r.try_get::<String, _>("role")?).ok_or_else(|| corrupt("role"))?,
        skills,
        capacity: r.try_get("capacity")?,
        locale: Locale::parse(&r.try_get::<String, _>("locale")?).ok_or_else(|| corrupt("locale"))?,
        active: r.try_get::<i64, _>("active")? != 0,
        created_at_ms: r.try_get("created_at")?,
    })
}
