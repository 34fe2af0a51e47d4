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

/// What an admin sends to change a member's profile, as typed.
pub struct ProfileForm<'a> {
    pub display_name: &'a str,
    pub role: &'a str,
    /// Comma-separated category codes (empty: every category).
    pub categories: &'a str,
    /// Comma-separated language codes (empty: both).
    pub languages: &'a str,
    pub capacity: &'a str,
    pub team: &'a str,
    pub active: bool,
}

/// Changes a member's profile (audited with before and after). An admin cannot take away
/// their own admin role or deactivate themselves, so the desk is never left without one by
/// mistake; deactivating a member ends their sessions at once.
pub async fn update_profile(
    db: &Db,
    actor_id: &str,
    id: &str,
    form: &ProfileForm<'_>,
) -> Result<StaffMember, ServiceError> {
    let capacity: i64 = form.capacity.trim().parse().map_err(|_| {
        thaw_domain::Invalid::new(
            "capacity",
            "invalid_number",
            format!("capacity must be a whole number from 0 to {}", thaw_domain::staff::MAX_CAPACITY),
        )
    })?;
    let skills = thaw_domain::Skills::parse(form.categories, form.languages)?;
    let team = form.team.trim();
    if team.chars().count() > 60 {
        return Err(thaw_domain::Invalid::new("team", "too_long", "a team name is at most 60 characters").into());
    }
    let mut tx = db.begin_write().await?;
    let Some(member) = tx.staff().by_id(id).await? else {
        return Err(ServiceError::NotFound("staff member"));
    };
    if form.display_name.trim().is_empty() {
        return Err(thaw_domain::Invalid::new("display_name", "required", "a display name is required").into());
    }
    let checked = thaw_domain::NewStaff::validate(
        member.email.as_str(),
        Some(form.display_name),
        form.role,
        skills,
        capacity,
        member.locale,
    )?;
    if id == actor_id && (checked.role != thaw_domain::Role::Admin || !form.active) {
        return Err(ServiceError::Refused {
            code: "own_admin_role",
            message: "you cannot take away your own admin role or deactivate yourself; ask another admin".into(),
        });
    }
    let profile = thaw_domain::StaffProfile {
        display_name: checked.display_name,
        role: checked.role,
        skills: checked.skills,
        capacity: checked.capacity,
        active: form.active,
        team: team.to_string(),
    };
    tx.staff().update_profile(id, &profile, now_ms()).await?;
    if !profile.active {
        tx.sessions().delete_for_staff(id).await?;
    }
    tx.commit().await.map_err(thaw_store::StoreError::from)?;
    Ok(StaffMember {
        display_name: profile.display_name,
        role: profile.role,
        skills: profile.skills,
        capacity: profile.capacity,
        active: profile.active,
        ..member
    })
}
