//! Staff of the desk: their roles, what each role may do, and their skills for routing.
//! Every authorisation decision of the HTTP layer asks `Role::can`.

use crate::{CaseCategory, Email, Invalid, Locale};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    AgentT1,
    AgentT2,
    Supervisor,
    Compliance,
    Admin,
}

/// Things a caller may be allowed to do. Platform API keys hold `PlatformSync`-style rights;
/// staff hold what their role grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read account holders' mirrored profiles.
    ReadAccounts,
    /// Create or replace mirrored profiles (the platform's sync).
    WriteAccounts,
    /// Create, list and revoke platform API keys.
    ManageApiKeys,
    /// Create and change staff members.
    ManageStaff,
    /// Read the API description.
    ReadApiDocs,
    /// Send the platform's events to the risk engine.
    IngestEvents,
    /// See holds, decisions and the enforcement status.
    ReadHolds,
    /// Place a hold by hand.
    PlaceHolds,
    /// Ask to lift a hold (the hold's release policy decides).
    ReleaseHolds,
    /// Register webhook endpoints and see their deliveries.
    ManageWebhooks,
    /// See and reload the risk policy.
    ManagePolicy,
    /// See cases and their conversations.
    ReadCases,
    /// Open cases and write on them.
    WorkCases,
    /// Approve or deny requests beyond an agent's authority (never one's own).
    DecideApprovals,
    /// Review sampled resolved cases with the QA scorecard.
    ReviewQuality,
    /// Hand incoming email to the desk (the mail server's integration).
    ReceiveMail,
    /// Write and publish knowledge-base articles.
    EditKnowledge,
    /// See the desk's analytics.
    ReadAnalytics,
    /// Search and export the audit log.
    ReadAudit,
    /// Register official channels and change run-time settings.
    ManageSettings,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::AgentT1, Role::AgentT2, Role::Supervisor, Role::Compliance, Role::Admin];

    pub fn code(self) -> &'static str {
        match self {
            Role::AgentT1 => "agent_t1",
            Role::AgentT2 => "agent_t2",
            Role::Supervisor => "supervisor",
            Role::Compliance => "compliance",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.code() == s.trim())
    }

    pub fn label(self, locale: Locale) -> &'static str {
        let (zh, en) = match self {
            Role::AgentT1 => ("一线客服", "Agent, tier 1"),
            Role::AgentT2 => ("二线客服", "Agent, tier 2"),
            Role::Supervisor => ("主管", "Supervisor"),
            Role::Compliance => ("合规专员", "Compliance officer"),
            Role::Admin => ("管理员", "Administrator"),
        };
        match locale {
            Locale::ZhCn => zh,
            Locale::En => en,
        }
    }

    pub fn can(self, p: Permission) -> bool {
        match p {
            Permission::ReadAccounts | Permission::ReadApiDocs | Permission::ReadHolds => true,
            Permission::WriteAccounts
            | Permission::ManageApiKeys
            | Permission::ManageStaff
            | Permission::ManageWebhooks
            | Permission::ManagePolicy => self == Role::Admin,
            Permission::PlaceHolds => matches!(self, Role::AgentT2 | Role::Supervisor | Role::Compliance),
            Permission::ReleaseHolds => self != Role::Admin,
            Permission::IngestEvents => false,
            Permission::ReadCases | Permission::WorkCases => {
                matches!(self, Role::AgentT1 | Role::AgentT2 | Role::Supervisor | Role::Compliance)
            }
            Permission::DecideApprovals | Permission::ReviewQuality => self == Role::Supervisor,
            Permission::ReceiveMail => false,
            Permission::EditKnowledge => matches!(self, Role::Supervisor | Role::Admin),
            Permission::ReadAnalytics => matches!(self, Role::Supervisor | Role::Admin),
            Permission::ReadAudit => matches!(self, Role::Supervisor | Role::Compliance | Role::Admin),
            Permission::ManageSettings => self == Role::Admin,
        }
    }
}

/// What a platform API key may do: the platform syncs and reads its users and reads the API
/// description; it never manages thaw's own staff or keys.
pub fn platform_key_can(p: Permission) -> bool {
    matches!(
        p,
        Permission::ReadAccounts
            | Permission::WriteAccounts
            | Permission::ReadApiDocs
            | Permission::IngestEvents
            | Permission::ReadHolds
            | Permission::PlaceHolds
            | Permission::ReleaseHolds
            | Permission::ReadCases
            | Permission::WorkCases
            | Permission::ReceiveMail
    )
}

/// What a staff member can work on: case categories and languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Skills {
    pub categories: Vec<CaseCategory>,
    pub languages: Vec<Locale>,
}

impl Skills {
    /// Parses comma-separated lists such as `asset_freeze,account_theft` and `zh-CN,en`.
    /// An empty category list means every category; an empty language list means both.
    pub fn parse(categories: &str, languages: &str) -> Result<Skills, Invalid> {
        let mut skills = Skills::default();
        for c in categories.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let cat = CaseCategory::parse(c)
                .ok_or_else(|| Invalid::new("skills", "unknown_category", format!("unknown case category '{c}'")))?;
            if !skills.categories.contains(&cat) {
                skills.categories.push(cat);
            }
        }
        for l in languages.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let loc = Locale::parse_canonical(l).ok_or_else(|| {
                Invalid::new("languages", "invalid_locale", format!("unknown language '{l}' (zh-CN or en)"))
            })?;
            if !skills.languages.contains(&loc) {
                skills.languages.push(loc);
            }
        }
        if skills.categories.is_empty() {
            skills.categories = CaseCategory::ALL.to_vec();
        }
        if skills.languages.is_empty() {
            skills.languages = Locale::ALL.to_vec();
        }
        Ok(skills)
    }
}

pub const MAX_CAPACITY: i64 = 200;

/// A staff member as stored, without secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    pub id: String,
    pub email: Email,
    pub display_name: String,
    pub role: Role,
    pub skills: Skills,
    pub capacity: i64,
    pub locale: Locale,
    pub active: bool,
    pub created_at_ms: i64,
}

/// What an admin changes on a staff member's profile (authority limits and dedicated accounts
/// are set on their own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffProfile {
    pub display_name: String,
    pub role: Role,
    pub skills: Skills,
    pub capacity: i64,
    pub active: bool,
    /// Free text such as `zh-desk`; '' for none.
    pub team: String,
}

/// A staff member about to be created.
#[derive(Debug, Clone)]
pub struct NewStaff {
    pub email: Email,
    pub display_name: String,
    pub role: Role,
    pub skills: Skills,
    pub capacity: i64,
    pub locale: Locale,
}

impl NewStaff {
    pub fn validate(
        email: &str,
        display_name: Option<&str>,
        role: &str,
        skills: Skills,
        capacity: i64,
        locale: Locale,
    ) -> Result<NewStaff, Invalid> {
        let email = Email::parse("email", email)?;
        let role = Role::parse(role).ok_or_else(|| {
            let all: Vec<_> = Role::ALL.iter().map(|r| r.code()).collect();
            Invalid::new("role", "invalid_role", format!("unknown role '{role}'; one of {}", all.join(", ")))
        })?;
        if !(0..=MAX_CAPACITY).contains(&capacity) {
            return Err(Invalid::new(
                "capacity",
                "out_of_range",
                format!("capacity must be between 0 and {MAX_CAPACITY}"),
            ));
        }
        let display_name = match display_name.map(str::trim).filter(|s| !s.is_empty()) {
            Some(n) if n.chars().count() > 100 => {
                return Err(Invalid::new("display_name", "too_long", "display name is at most 100 characters"));
            }
            Some(n) => n.to_string(),
            None => email.as_str().split('@').next().unwrap_or_default().to_string(),
        };
        Ok(NewStaff { email, display_name, role, skills, capacity, locale })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admins_manage_keys_staff_and_account_sync() {
        for role in Role::ALL {
            assert!(role.can(Permission::ReadAccounts));
            let admin = role == Role::Admin;
            assert_eq!(role.can(Permission::ManageApiKeys), admin, "{role:?}");
            assert_eq!(role.can(Permission::ManageStaff), admin, "{role:?}");
            assert_eq!(role.can(Permission::WriteAccounts), admin, "{role:?}");
        }
    }

    #[test]
    fn platform_keys_sync_accounts_but_never_manage_thaw() {
        assert!(platform_key_can(Permission::WriteAccounts) && platform_key_can(Permission::ReadAccounts));
        assert!(!platform_key_can(Permission::ManageApiKeys) && !platform_key_can(Permission::ManageStaff));
    }

    #[test]
    fn roles_round_trip_and_unknown_roles_are_refused_by_name() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.code()), Some(r));
        }
        let e = NewStaff::validate("a@b.co", None, "superuser", Skills::default(), 5, Locale::En).unwrap_err();
        assert_eq!(e.field, "role");
        assert!(e.message.contains("superuser") && e.message.contains("agent_t1"));
    }

    #[test]
    fn skills_default_to_everything_and_reject_unknown_names() {
        let s = Skills::parse("", "").unwrap();
        assert_eq!(s.categories.len(), CaseCategory::ALL.len());
        assert_eq!(s.languages, vec![Locale::ZhCn, Locale::En]);
        let s = Skills::parse("asset_freeze, account_theft,asset_freeze", "zh-CN").unwrap();
        assert_eq!(s.categories, vec![CaseCategory::AssetFreeze, CaseCategory::AccountTheft]);
        assert_eq!(s.languages, vec![Locale::ZhCn]);
        assert_eq!(Skills::parse("fraud", "").unwrap_err().field, "skills");
        assert_eq!(Skills::parse("", "de").unwrap_err().field, "languages");
    }

    #[test]
    fn new_staff_takes_name_from_email_and_bounds_capacity() {
        let s =
            NewStaff::validate("Wang.Fang@Desk.example", None, "agent_t1", Skills::default(), 8, Locale::ZhCn).unwrap();
        assert_eq!(s.display_name, "Wang.Fang");
        assert_eq!(
            NewStaff::validate("a@b.co", None, "admin", Skills::default(), 201, Locale::En).unwrap_err().field,
            "capacity"
        );
        assert_eq!(
            NewStaff::validate("not-an-email", None, "admin", Skills::default(), 1, Locale::En).unwrap_err().field,
            "email"
        );
    }
}
