//! The case taxonomy of DESIGN.md. Staff skills name these; the case desk routes by them.

use crate::Locale;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseCategory {
    AssetFreeze,
    AccountAccess,
    AccountTheft,
    TradeDispute,
    PhishingReport,
    Verification,
    DepositWithdrawal,
    Complaint,
    Other,
}

impl CaseCategory {
    pub const ALL: [CaseCategory; 9] = [
        CaseCategory::AssetFreeze,
        CaseCategory::AccountAccess,
        CaseCategory::AccountTheft,
        CaseCategory::TradeDispute,
        CaseCategory::PhishingReport,
        CaseCategory::Verification,
        CaseCategory::DepositWithdrawal,
        CaseCategory::Complaint,
        CaseCategory::Other,
    ];

    pub fn code(self) -> &'static str {
        match self {
            CaseCategory::AssetFreeze => "asset_freeze",
            CaseCategory::AccountAccess => "account_access",
            CaseCategory::AccountTheft => "account_theft",
            CaseCategory::TradeDispute => "trade_dispute",
            CaseCategory::PhishingReport => "phishing_report",
            CaseCategory::Verification => "verification",
            CaseCategory::DepositWithdrawal => "deposit_withdrawal",
            CaseCategory::Complaint => "complaint",
            CaseCategory::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<CaseCategory> {
        CaseCategory::ALL.into_iter().find(|c| c.code() == s.trim())
    }

    pub fn label(self, locale: Locale) -> &'static str {
        let (zh, en) = match self {
            CaseCategory::AssetFreeze => ("资产冻结", "Asset freeze"),
            CaseCategory::AccountAccess => ("账户访问", "Account access"),
            CaseCategory::AccountTheft => ("账户被盗", "Account theft"),
            CaseCategory::TradeDispute => ("交易纠纷", "Trade dispute (C2C/P2P)"),
            CaseCategory::PhishingReport => ("可疑信息/冒充客服", "Phishing or fake support"),
            CaseCategory::Verification => ("身份认证", "Identity verification"),
            CaseCategory::DepositWithdrawal => ("充提未到账", "Missing deposit or withdrawal"),
            CaseCategory::Complaint => ("投诉/升级", "Complaint or escalation"),
            CaseCategory::Other => ("其他", "Other"),
        };
        match locale {
            Locale::ZhCn => zh,
            Locale::En => en,
        }
    }

    /// Security categories are worked by the security team around the clock.
    pub fn is_security(self) -> bool {
        matches!(self, CaseCategory::AccountTheft | CaseCategory::PhishingReport)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_category_round_trips_through_its_code() {
        for c in CaseCategory::ALL {
            assert_eq!(CaseCategory::parse(c.code()), Some(c));
        }
        assert_eq!(CaseCategory::parse("fraud"), None);
    }

    #[test]
    fn only_theft_and_phishing_are_security_categories() {
        let security: Vec<_> = CaseCategory::ALL.into_iter().filter(|c| c.is_security()).collect();
        assert_eq!(security, vec![CaseCategory::AccountTheft, CaseCategory::PhishingReport]);
    }
}
