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

/// The demo day's events: ordinary sign-ins, trades, deposits and withdrawals over every demo
/// account, and the attacks the desk should see — credential stuffing, an impossible-travel
/// takeover followed by a drain attempt, a withdrawal to a sanctioned address, structuring, a
/// dormant account waking up, risky devices and an unusual amount. Each goes through the real
/// engine; ids are fixed, so a second seeding changes nothing.
pub mod day {
    use super::{DEMO_ACCOUNTS, mix};
    use crate::ServiceError;
    use crate::events::ingest;
    use crate::risk::RiskRuntime;
    use thaw_domain::risk::{EventInput, Geo};
    use thaw_store::{Capabilities, Db};

    const MIN: i64 = 60_000;
    const HOUR: i64 = 3_600_000;
    const DAY: i64 = 86_400_000;

    type Place = (&'static str, &'static str, f64, f64, &'static str);
    const ZH_CITIES: &[Place] = &[
        ("CN", "上海", 31.2304, 121.4737, "101.80"),
        ("CN", "北京", 39.9042, 116.4074, "123.112"),
        ("CN", "深圳", 22.5431, 114.0579, "113.88"),
        ("CN", "杭州", 30.2741, 120.1551, "115.192"),
    ];
    const EN_CITIES: &[Place] = &[
        ("GB", "London", 51.5074, -0.1278, "81.2"),
        ("US", "New York", 40.7128, -74.0060, "98.113"),
        ("SG", "Singapore", 1.3521, 103.8198, "118.189"),
        ("AU", "Sydney", -33.8688, 151.2093, "1.120"),
    ];
    /// The account that wakes up after 200 days (demo-10033).
    const DORMANT: usize = 32;
    const FRANKFURT: Place = ("DE", "Frankfurt", 50.1109, 8.6821, "46.4");
    const SANCTIONED: &str = "0x01e2919679362dFBC9ee1644Ba9C6da6D6245BB1";

    struct Day {
        events: Vec<EventInput>,
    }

    impl Day {
        #[allow(clippy::too_many_arguments)]
        fn add(
            &mut self,
            account: usize,
            kind: &str,
            at: i64,
            place: Option<&Place>,
            device: &str,
            amount: Option<&str>,
            address: Option<&str>,
        ) {
            let n = self.events.len();
            let ip = place.map(|p| format!("{}.{}.{}", p.4, mix(account, 40) % 250 + 1, mix(account, 41) % 250 + 1));
            self.events.push(EventInput {
                id: Some(format!("demo-ev-{n:05}")),
                account_id: Some(format!("demo-{}", 10_001 + account)),
                kind: Some(kind.into()),
                occurred_at_ms: Some(at),
                ip,
                device_id: Some(device.to_string()).filter(|d| !d.is_empty()),
                user_agent: Some("thaw-demo/1".into()),
                geo: place.map(|p| Geo {
                    country: Some(p.0.into()),
                    city: Some(p.1.into()),
                    lat: Some(p.2),
                    lon: Some(p.3),
                }),
                amount: amount.map(String::from),
                asset: amount.map(|_| "USDT".into()),
                address: address.map(String::from),
                network: address.map(|_| "ETH".into()),
                flags: Vec::new(),
                metadata: Default::default(),
            });
        }
    }

    fn home(i: usize) -> &'static Place {
        let zh = mix(i, 1) % 10 < 6;
        let cities = if zh { ZH_CITIES } else { EN_CITIES };
        &cities[(mix(i, 9) % cities.len() as u64) as usize]
    }

    /// The day's events in time order, ending at `now_ms`.
    fn build(now_ms: i64) -> Vec<EventInput> {
        let mut d = Day { events: Vec::new() };
        let start = now_ms - DAY;
        let device = |i: usize| format!("dev-{:04}", i);
        let address = |i: usize| format!("0x{:040x}", 0xd3_0000 + i);
        // A settled history three weeks back, so devices and places are known.
        for i in (0..DEMO_ACCOUNTS).filter(|i| *i != DORMANT) {
            let at = start - 21 * DAY + (mix(i, 20) % (12 * HOUR as u64)) as i64;
            d.add(i, "login_succeeded", at, Some(home(i)), &device(i), None, None);
            for k in 0..3 {
                d.add(
                    i,
                    "withdrawal_requested",
                    at + (k + 1) * HOUR,
                    Some(home(i)),
                    &device(i),
                    Some(["80", "120", "100"][k as usize]),
                    Some(&address(i)),
                );
            }
        }
        // The dormant account's last activity, 200 days ago.
        d.add(DORMANT, "login_succeeded", now_ms - 200 * DAY, Some(home(DORMANT)), &device(DORMANT), None, None);
        // An ordinary day.
        for i in 0..DEMO_ACCOUNTS {
            if i == DORMANT {
                continue;
            }
            let t = start + (mix(i, 21) % (20 * HOUR as u64)) as i64;
            d.add(i, "login_succeeded", t, Some(home(i)), &device(i), None, None);
            match mix(i, 22) % 4 {
                0 => d.add(i, "trade", t + 10 * MIN, Some(home(i)), &device(i), Some("250.5"), None),
                1 => d.add(i, "deposit", t + 12 * MIN, Some(home(i)), &device(i), Some("1200"), None),
                2 => d.add(
                    i,
                    "withdrawal_requested",
                    t + 15 * MIN,
                    Some(home(i)),
                    &device(i),
                    Some("95"),
                    Some(&address(i)),
                ),
                _ => d.add(i, "p2p_order", t + 20 * MIN, Some(home(i)), &device(i), Some("3000"), None),
            }
        }
        // Credential stuffing: a few addresses try many accounts; one account is hammered.
        let stuffer: Place = ("NL", "Amsterdam", 52.3676, 4.9041, "185.220");
        for k in 0..60 {
            d.add(40 + k % 30, "login_failed", start + 3 * HOUR + k as i64 * 7_000, Some(&stuffer), "bot", None, None);
        }
        for k in 0..11 {
            d.add(3, "login_failed", start + 4 * HOUR + k * 20_000, Some(&stuffer), "bot", None, None);
        }
        // Impossible travel, then a drain attempt right after a password change.
        d.add(7, "login_succeeded", now_ms - 6 * HOUR, Some(home(7)), &device(7), None, None);
        d.add(7, "login_succeeded", now_ms - 6 * HOUR + 25 * MIN, Some(&FRANKFURT), "dev-attacker", None, None);
        d.add(7, "password_changed", now_ms - 6 * HOUR + 30 * MIN, Some(&FRANKFURT), "dev-attacker", None, None);
        d.add(
            7,
            "address_added",
            now_ms - 6 * HOUR + 32 * MIN,
            Some(&FRANKFURT),
            "dev-attacker",
            None,
            Some("0x9f3a000000000000000000000000000000000bad"),
        );
        d.add(
            7,
            "withdrawal_requested",
            now_ms - 6 * HOUR + 35 * MIN,
            Some(&FRANKFURT),
            "dev-attacker",
            Some("18000"),
            Some("0x9f3a000000000000000000000000000000000bad"),
        );
        // A withdrawal to a sanctioned address.
        d.add(
            12,
            "withdrawal_requested",
            now_ms - 5 * HOUR,
            Some(home(12)),
            &device(12),
            Some("4200"),
            Some(SANCTIONED),
        );
        // Structuring: deposits just below 10,000 USDT.
        for (k, a) in ["9500", "9800", "9650", "9900"].iter().enumerate() {
            d.add(20, "deposit", now_ms - 10 * HOUR + k as i64 * 2 * HOUR, Some(home(20)), &device(20), Some(a), None);
        }
        // The dormant account wakes up to withdraw.
        d.add(
            32,
            "withdrawal_requested",
            now_ms - 2 * HOUR,
            Some(home(32)),
            &device(32),
            Some("2500"),
            Some(&address(32)),
        );
        // An unusual amount against the account's own history.
        d.add(
            41,
            "withdrawal_requested",
            now_ms - 90 * MIN,
            Some(home(41)),
            &device(41),
            Some("5000"),
            Some(&address(41)),
        );
        // Risky devices.
        for (i, flag) in [(55usize, "tor"), (66, "emulator"), (77, "vpn")] {
            d.add(i, "device_flagged", now_ms - 3 * HOUR, Some(home(i)), &device(i), None, None);
            d.events.last_mut().expect("just added").flags = vec![flag.into()];
        }
        d.events.sort_by_key(|e| e.occurred_at_ms);
        d.events
    }

    /// Runs the day through the engine. Returns how many events were new.
    pub async fn seed(
        db: &Db,
        risk: &RiskRuntime,
        now_ms: i64,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<usize, ServiceError> {
        if db.conn().await?.risk().stored_event("demo-ev-00000").await?.is_some() {
            return Ok(0);
        }
        let events = build(now_ms);
        let total = events.len();
        for (n, input) in events.into_iter().enumerate() {
            let event = input.validate(now_ms)?;
            let body = serde_json::to_string(&event).expect("serialisable");
            ingest(db, risk, &event, &body, now_ms).await?;
            if (n + 1) % 100 == 0 || n + 1 == total {
                progress(n + 1, total);
            }
        }
        Ok(total)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_demo_day_is_valid_ordered_and_ends_now() {
            let now = 1_800_000_000_000;
            let events = build(now);
            assert!(events.len() > 1_000);
            assert!(events.windows(2).all(|w| w[0].occurred_at_ms <= w[1].occurred_at_ms));
            for e in events {
                assert!(e.occurred_at_ms.unwrap() <= now);
                e.validate(now).unwrap();
            }
        }
    }
}
