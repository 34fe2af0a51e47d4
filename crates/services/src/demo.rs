//! The demo world of `thaw serve --demo`: staff of every role and a few hundred account holders
//! in zh-CN and en. Seeding is idempotent: what exists already is left as it is.

use crate::{ServiceError, now_ms, staff};
use thaw_domain::{Account, AccountId, Email, Locale, NewStaff, Phone, Role, Skills};
use thaw_store::{Capabilities, Db};

/// The password of every demo staff member. The demo is for trying thaw out, never for production.
pub const DEMO_PASSWORD: &str = "thaw-demo-2026";
pub const DEMO_ACCOUNTS: usize = 300;

pub struct DemoStaff {
    pub email: &'static str,
    pub name: &'static str,
    pub role: Role,
    pub categories: &'static str,
    pub languages: &'static str,
    pub capacity: i64,
    pub locale: Locale,
}

pub const STAFF: &[DemoStaff] = &[
    DemoStaff {
        email: "admin@thaw.example",
        name: "Ada Admin",
        role: Role::Admin,
        categories: "",
        languages: "",
        capacity: 0,
        locale: Locale::En,
    },
    DemoStaff {
        email: "supervisor@thaw.example",
        name: "周主管 Zhou",
        role: Role::Supervisor,
        categories: "",
        languages: "",
        capacity: 10,
        locale: Locale::ZhCn,
    },
    DemoStaff {
        email: "compliance@thaw.example",
        name: "Chen Compliance",
        role: Role::Compliance,
        categories: "asset_freeze,complaint",
        languages: "",
        capacity: 10,
        locale: Locale::En,
    },
    DemoStaff {
        email: "agent1.zh@thaw.example",
        name: "李娜",
        role: Role::AgentT1,
        categories: "asset_freeze,account_access,deposit_withdrawal,verification,other",
        languages: "zh-CN",
        capacity: 8,
        locale: Locale::ZhCn,
    },
    DemoStaff {
        email: "agent1.en@thaw.example",
        name: "Sam Taylor",
        role: Role::AgentT1,
        categories: "asset_freeze,account_access,deposit_withdrawal,verification,other",
        languages: "en",
        capacity: 8,
        locale: Locale::En,
    },
    DemoStaff {
        email: "agent2@thaw.example",
        name: "王强 Wang Qiang",
        role: Role::AgentT2,
        categories: "trade_dispute,complaint,asset_freeze,deposit_withdrawal",
        languages: "zh-CN,en",
        capacity: 6,
        locale: Locale::ZhCn,
    },
    DemoStaff {
        email: "security@thaw.example",
        name: "Riley Security",
        role: Role::AgentT2,
        categories: "account_theft,phishing_report",
        languages: "zh-CN,en",
        capacity: 6,
        locale: Locale::En,
    },
];

pub struct DemoReport {
    pub staff_created: usize,
    pub accounts_created: usize,
}

/// Seeds the demo world. `progress` is called with (done, total) while accounts are written.
pub async fn seed(db: &Db, mut progress: impl FnMut(usize, usize)) -> Result<DemoReport, ServiceError> {
    let mut staff_created = 0;
    for s in STAFF {
        let skills = Skills::parse(s.categories, s.languages)?;
        let new = NewStaff::validate(s.email, Some(s.name), s.role.code(), skills, s.capacity, s.locale)?;
        match staff::create(db, &new, DEMO_PASSWORD).await {
            Ok(_) => staff_created += 1,
            Err(ServiceError::Duplicate { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let now = now_ms();
    let mut accounts_created = 0;
    let mut tx = db.begin_write().await?;
    for i in 0..DEMO_ACCOUNTS {
        if tx.accounts().insert_if_absent(&demo_account(i, now)).await? {
            accounts_created += 1;
        }
        if (i + 1) % 50 == 0 || i + 1 == DEMO_ACCOUNTS {
            progress(i + 1, DEMO_ACCOUNTS);
        }
    }
    tx.commit().await.map_err(thaw_store::StoreError::from)?;
    Ok(DemoReport { staff_created, accounts_created })
}

const ZH_SURNAMES: &[&str] =
    &["wang", "li", "zhang", "liu", "chen", "yang", "zhao", "huang", "zhou", "wu", "xu", "sun"];
const ZH_GIVEN: &[&str] =
    &["wei", "fang", "na", "min", "jing", "lei", "yang", "jie", "tao", "xiu", "hui", "qiang", "yan", "ping"];
const EN_FIRST: &[&str] =
    &["alex", "sam", "jordan", "taylor", "morgan", "casey", "jamie", "robin", "chris", "pat", "lee", "drew"];
const EN_LAST: &[&str] =
    &["smith", "jones", "brown", "miller", "davis", "wilson", "moore", "clark", "lewis", "walker", "hall", "young"];

/// A deterministic pseudo-random stream per account index, so every seeding yields the same world.
fn mix(i: usize, salt: u64) -> u64 {
    let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt;
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^ (x >> 29)
}

/// The i-th demo account: 60 % zh-CN, KYC and VIP levels skewed low as on a real exchange,
/// opened over the three years before `now_ms`.
pub fn demo_account(i: usize, now_ms: i64) -> Account {
    let zh = mix(i, 1) % 10 < 6;
    let (first, last) = if zh {
        (
            ZH_GIVEN[(mix(i, 2) % ZH_GIVEN.len() as u64) as usize],
            ZH_SURNAMES[(mix(i, 3) % ZH_SURNAMES.len() as u64) as usize],
        )
    } else {
        (EN_FIRST[(mix(i, 2) % EN_FIRST.len() as u64) as usize], EN_LAST[(mix(i, 3) % EN_LAST.len() as u64) as usize])
    };
    let number = 10_001 + i;
    let email = format!("{last}.{first}.{number}@mail.example");
    let phone = if zh {
        format!("+86138{:08}", mix(i, 4) % 100_000_000)
    } else {
        format!("+447700{:06}", mix(i, 4) % 1_000_000)
    };
    let kyc = [0, 1, 1, 1, 2, 2, 2, 2, 3, 3][(mix(i, 5) % 10) as usize];
    let vip = match mix(i, 6) % 100 {
        0..=69 => 0,
        70..=89 => 1 + (mix(i, 7) % 3) as i64,
        90..=98 => 4 + (mix(i, 7) % 4) as i64,
        _ => 8 + (mix(i, 7) % 3) as i64,
    };
    let three_years_ms = 3 * 365 * 86_400_000_i64;
    Account {
        id: AccountId::parse("id", &format!("demo-{number}")).expect("demo ids are valid"),
        email: Some(Email::parse("email", &email).expect("demo emails are valid")),
        phone: Some(Phone::parse("phone", &phone).expect("demo phones are valid")),
        locale: if zh { Locale::ZhCn } else { Locale::En },
        kyc_level: kyc,
        vip_level: vip,
        created_at_ms: now_ms - (mix(i, 8) % three_years_ms as u64) as i64,
        updated_at_ms: now_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_accounts_are_valid_deterministic_and_bilingual() {
        let all: Vec<_> = (0..DEMO_ACCOUNTS).map(|i| demo_account(i, 1_800_000_000_000)).collect();
        assert_eq!(demo_account(7, 1_800_000_000_000), all[7]);
        let zh = all.iter().filter(|a| a.locale == Locale::ZhCn).count();
        assert!((120..=240).contains(&zh), "zh-CN accounts: {zh}");
        assert!(all.iter().any(|a| a.vip_level >= 8));
        assert!(all.iter().all(|a| (0..=3).contains(&a.kyc_level)));
        let ids: std::collections::HashSet<_> = all.iter().map(|a| a.id.clone()).collect();
        assert_eq!(ids.len(), DEMO_ACCOUNTS);
    }

    #[test]
    fn demo_staff_cover_every_role() {
        for role in Role::ALL {
            assert!(STAFF.iter().any(|s| s.role == role), "{role:?}");
        }
    }
}
