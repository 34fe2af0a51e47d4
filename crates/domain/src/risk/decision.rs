//! The answer to an event: an action, the reasons with their facts, the holds placed.

use super::{Hold, Reason};
use serde::{Deserialize, Serialize};

/// Ordered by severity: a decision takes the most severe action any reason asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    #[default]
    Allow,
    Challenge,
    Hold,
    Block,
}

impl Action {
    pub fn code(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Challenge => "challenge",
            Action::Hold => "hold",
            Action::Block => "block",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        [Action::Allow, Action::Challenge, Action::Hold, Action::Block].into_iter().find(|a| a.code() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub id: String,
    pub event_id: String,
    pub account_id: String,
    pub action: Action,
    pub reasons: Vec<Reason>,
    pub holds: Vec<Hold>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge_url: Option<String>,
    pub decided_at_ms: i64,
}
