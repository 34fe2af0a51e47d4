//! Every built-in detector, firing and not firing, with the facts its explanation states.

use thaw_domain::risk::{Action, Event, EventInput, Geo, HoldOrigin, ReleasePolicy, Scope};
use thaw_engines::risk::{AccountState, Engine, Outcome, Policy, Profile};

const T0: i64 = 1_800_000_000_000;
const MIN: i64 = 60_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 86_400_000;

fn engine() -> Engine {
    Engine::new(Policy::default_policy())
}

fn engine_with(extra: &str) -> Engine {
    let src = format!("{}\n{extra}", thaw_engines::risk::policy::DEFAULT_POLICY);
    Engine::new(Policy::parse(&src, &|_| Err("no files".into())).unwrap_or_else(|e| panic!("{e:?}")))
}

fn profile() -> Profile {
    Profile { kyc_level: 2, vip_level: 1, created_at_ms: T0 - 400 * DAY }
}

struct Ev(EventInput);

fn ev(kind: &str, at: i64) -> Ev {
    Ev(EventInput {
        id: Some(format!("e-{kind}-{at}")),
        account_id: Some("u-1".into()),
        kind: Some(kind.into()),
        occurred_at_ms: Some(at),
        ..Default::default()
    })
}

impl Ev {
    fn ip(mut self, ip: &str) -> Ev {
        self.0.ip = Some(ip.into());
        self
    }
    fn device(mut self, d: &str) -> Ev {
        self.0.device_id = Some(d.into());
        self
    }
    fn place(mut self, country: &str, city: &str, lat: f64, lon: f64) -> Ev {
        self.0.geo =
            Some(Geo { country: Some(country.into()), city: Some(city.into()), lat: Some(lat), lon: Some(lon) });
        self
    }
    fn money(mut self, amount: &str, asset: &str) -> Ev {
        self.0.amount = Some(amount.into());
        self.0.asset = Some(asset.into());
        self
    }
    fn to(mut self, address: &str) -> Ev {
        self.0.address = Some(address.into());
        self.0.network = Some("ETH".into());
        self
    }
    fn flags(mut self, f: &[&str]) -> Ev {
        self.0.flags = f.iter().map(|s| s.to_string()).collect();
        self
    }
    fn build(self) -> Event {
        let at = self.0.occurred_at_ms.unwrap();
        self.0.validate(at).unwrap()
    }
}

fn run(engine: &Engine, state: &mut AccountState, e: Ev) -> Outcome {
    let event = e.build();
    engine.evaluate(&event, &profile(), state, event.occurred_at_ms)
}

fn codes(o: &Outcome) -> Vec<&str> {
    o.reasons.iter().map(|r| r.code.as_str()).collect()
}

fn fact<'a>(o: &'a Outcome, code: &str, name: &str) -> &'a serde_json::Value {
    &o.reasons.iter().find(|r| r.code == code).unwrap_or_else(|| panic!("no {code} in {:?}", codes(o))).facts[name]
}

/// A state with a settled history: a known device and country, logins from Shanghai.
fn settled() -> AccountState {
    let e = engine();
    let mut s = AccountState::default();
    for i in 0..3 {
        let o = run(
            &e,
            &mut s,
            ev("login_succeeded", T0 - (10 - i) * HOUR)
                .ip("101.80.1.1")
                .device("phone-1")
                .place("CN", "Shanghai", 31.2304, 121.4737),
        );
        assert_eq!(o.action, Action::Allow, "{:?}", codes(&o));
    }
    s
}

#[test]
fn failed_logins_challenge_at_five_and_hold_sign_in_at_ten_from_one_ip() {
    let e = engine();
    let mut s = settled();
    for i in 1..=4 {
        let o = run(&e, &mut s, ev("login_failed", T0 + i * MIN).ip("203.0.113.9"));
        assert_eq!(o.action, Action::Allow, "failure {i}");
    }
    let o = run(&e, &mut s, ev("login_failed", T0 + 5 * MIN).ip("203.0.113.9"));
    assert_eq!(o.action, Action::Challenge);
    assert_eq!(fact(&o, "failed_logins", "failures"), 5);
    assert_eq!(o.reasons[0].explanation.en, "5 failed sign-ins from IP 203.0.113.9 within 15 minutes");
    assert_eq!(o.reasons[0].explanation.zh_cn, "15 分钟内来自 IP 203.0.113.9 的登录失败 5 次");
    let mut last = o;
    for i in 6..=10 {
        last = run(&e, &mut s, ev("login_failed", T0 + 5 * MIN + i * 10_000).ip("203.0.113.9"));
    }
    assert_eq!(last.action, Action::Hold);
    let hold = &last.holds[0];
    assert!(hold.scopes.blocks(Scope::Login) && !hold.scopes.blocks(Scope::Withdraw));
    assert_eq!(hold.release, ReleasePolicy::Owner { factors: 1, wait_ms: 0 });
    assert_eq!(hold.expires_at_ms, Some(T0 + 5 * MIN + 100_000 + 15 * MIN));
}

#[test]
fn failures_spread_over_many_ips_never_hold_and_old_failures_are_forgotten() {
    let e = engine();
    let mut s = settled();
    let mut actions = Vec::new();
    for i in 0..40 {
        let o = run(&e, &mut s, ev("login_failed", T0 + i * 1_000).ip(&format!("198.51.100.{}", i % 10)));
        actions.push(o.action);
    }
    assert!(!actions.contains(&Action::Hold), "no lock-out from a distributed attack");
    assert_eq!(*actions.last().unwrap(), Action::Challenge);
    let mut s = settled();
    for i in 0..4 {
        run(&e, &mut s, ev("login_failed", T0 + i * MIN).ip("203.0.113.9"));
    }
    let o = run(&e, &mut s, ev("login_failed", T0 + 30 * MIN).ip("203.0.113.9"));
    assert_eq!(o.action, Action::Allow, "the earlier failures left the 15-minute window");
}

#[test]
fn a_new_device_and_a_new_country_are_challenged_until_a_challenge_passes() {
    let e = engine();
    let mut s = settled();
    let o = run(
        &e,
        &mut s,
        ev("login_succeeded", T0).ip("101.80.1.2").device("laptop-9").place("CN", "Shanghai", 31.23, 121.47),
    );
    assert_eq!((o.action, codes(&o)), (Action::Challenge, vec!["new_device"]));
    assert_eq!(fact(&o, "new_device", "device_id"), "laptop-9");
    assert!(o.reasons[0].explanation.en.contains("laptop-9") && o.reasons[0].explanation.en.contains("101.80.1.2"));
    let o = run(&e, &mut s, ev("challenge_passed", T0 + MIN).device("laptop-9"));
    assert!(o.owner_verified);
    let o = run(
        &e,
        &mut s,
        ev("login_succeeded", T0 + 2 * HOUR).ip("101.80.1.2").device("laptop-9").place("CN", "Shanghai", 31.23, 121.47),
    );
    assert_eq!(o.action, Action::Allow, "known after the challenge passed: {:?}", codes(&o));

    let o = run(
        &e,
        &mut s,
        ev("login_succeeded", T0 + 30 * HOUR).ip("5.6.7.8").device("phone-1").place("SG", "Singapore", 1.35, 103.82),
    );
    assert_eq!(codes(&o), vec!["new_country"]);
    assert_eq!(fact(&o, "new_country", "country"), "SG");
    assert_eq!(o.reasons[0].explanation.zh_cn, "首次从 SG（Singapore）登录，IP 5.6.7.8");
}

#[test]
fn the_first_sign_in_of_an_account_is_its_baseline() {
    let mut s = AccountState::default();
    let o =
        run(&engine(), &mut s, ev("login_succeeded", T0).ip("1.2.3.4").device("d").place("DE", "Berlin", 52.52, 13.40));
    assert_eq!(o.action, Action::Allow);
}

#[test]
fn impossible_travel_names_both_places_the_distance_and_the_minutes() {
    let e = engine();
    let mut s = settled();
    let o = run(
        &e,
        &mut s,
        ev("login_succeeded", T0 - 10 * HOUR + 2 * HOUR + 25 * MIN).ip("46.4.1.1").device("phone-1").place(
            "DE",
            "Frankfurt",
            50.1109,
            8.6821,
        ),
    );
    assert_eq!(o.action, Action::Hold);
    assert!(codes(&o).contains(&"impossible_travel"));
    assert_eq!(fact(&o, "impossible_travel", "distance_km"), 8_820);
    assert_eq!(fact(&o, "impossible_travel", "minutes"), 25);
    let r = o.reasons.iter().find(|r| r.code == "impossible_travel").unwrap();
    assert_eq!(r.explanation.zh_cn, "登录地点从Shanghai变为Frankfurt，相距 8,820 公里，间隔 25 分钟");
    assert_eq!(r.explanation.en, "Sign-in from Frankfurt 8,820 km from Shanghai 25 minutes after the previous one");
    let hold = o.holds.iter().find(|h| h.reason.code == "impossible_travel").unwrap();
    assert!(
        hold.scopes.blocks(Scope::Withdraw) && hold.scopes.blocks(Scope::Trade) && !hold.scopes.blocks(Scope::Login)
    );
    assert_eq!(hold.cooldown_ms, Some(DAY));
}

#[test]
fn travel_that_is_possible_or_short_is_not_flagged() {
    let e = engine();
    let mut s = settled();
    // Shanghai → Beijing (1,070 km) in 3 hours: about 360 km/h, a plane.
    let o = run(
        &e,
        &mut s,
        ev("login_succeeded", T0 - 7 * HOUR + 3 * HOUR)
            .ip("101.80.1.1")
            .device("phone-1")
            .place("CN", "Beijing", 39.9042, 116.4074),
    );
    assert!(!codes(&o).contains(&"impossible_travel"), "{:?}", codes(&o));
    // Beijing → Tianjin (110 km) in 5 minutes: under 300 km, ignored.
    let o = run(
        &e,
        &mut s,
        ev("login_succeeded", T0 - 4 * HOUR + 5 * MIN)
            .ip("101.80.1.1")
            .device("phone-1")
            .place("CN", "Tianjin", 39.3434, 117.3616),
    );
    assert!(!codes(&o).contains(&"impossible_travel"));
}

#[test]
fn a_withdrawal_soon_after_a_credential_change_is_held_until_the_window_ends() {
    let e = engine();
    let mut s = settled();
    run(&e, &mut s, ev("password_changed", T0));
    let o = run(&e, &mut s, ev("withdrawal_requested", T0 + 3 * HOUR).money("100", "USDT").to("0xabc"));
    assert_eq!(o.action, Action::Hold);
    let h = &o.holds[0];
    assert_eq!((h.release, h.expires_at_ms), (ReleasePolicy::ExpiryOnly, Some(T0 + DAY)));
    assert_eq!(fact(&o, "withdrawal_after_credential_change", "hours_since"), 3);
    assert_eq!(fact(&o, "withdrawal_after_credential_change", "change"), "password_changed");
    assert!(
        o.reasons[0].explanation.zh_cn.contains("修改了密码，3 小时后申请提现"),
        "{}",
        o.reasons[0].explanation.zh_cn
    );
    let mut soon = settled();
    run(&e, &mut soon, ev("mfa_changed", T0));
    let o = run(&e, &mut soon, ev("withdrawal_requested", T0 + 25 * MIN).money("100", "USDT").to("0xabc"));
    assert!(
        o.reasons[0]
            .explanation
            .en
            .starts_with("Withdrawal 25 minutes after the two-factor authentication was changed"),
        "{}",
        o.reasons[0].explanation.en
    );
    let o = run(&e, &mut s, ev("withdrawal_requested", T0 + 25 * HOUR).money("100", "USDT").to("0xabc"));
    assert!(!codes(&o).contains(&"withdrawal_after_credential_change"));
}

#[test]
fn a_withdrawal_to_a_sanctioned_address_is_blocked_and_held_for_compliance_in_any_case() {
    let e = engine();
    let mut s = settled();
    let o = run(
        &e,
        &mut s,
        ev("withdrawal_requested", T0).money("900", "USDT").to("0x01E2919679362DFBC9EE1644BA9C6DA6D6245BB1"),
    );
    assert_eq!(o.action, Action::Block);
    assert_eq!(fact(&o, "listed_address", "list"), "OFAC SDN");
    let h = &o.holds[0];
    assert_eq!((h.origin, h.release, h.confidential), (HoldOrigin::Compliance, ReleasePolicy::ComplianceOnly, true));
    let o = run(
        &e,
        &mut s,
        ev("withdrawal_requested", T0 + MIN).money("900", "USDT").to("0x1111111111111111111111111111111111111111"),
    );
    assert!(!codes(&o).contains(&"listed_address"));
}

#[test]
fn the_platforms_own_deny_list_holds_and_its_allow_list_exempts() {
    let e = engine_with("");
    let src = thaw_engines::risk::policy::DEFAULT_POLICY
        .replace("deny_addresses = []", "deny_addresses = [\"TDenyMe111\"]")
        .replace("allow_addresses = []", "allow_addresses = [\"0xTrustedDesk\"]");
    let e2 = Engine::new(Policy::parse(&src, &|_| Err("x".into())).unwrap());
    let mut s = settled();
    let o = run(&e2, &mut s, ev("address_added", T0).to("TDenyMe111"));
    assert_eq!((o.action, fact(&o, "listed_address", "list").as_str()), (Action::Hold, Some("platform deny list")));
    let o = run(&e2, &mut s, ev("withdrawal_requested", T0 + MIN).money("60000", "USDT").to("0xtrusteddesk"));
    assert!(!codes(&o).contains(&"amount_over_limit"), "allow-listed destination");
    let o = run(&e, &mut settled(), ev("withdrawal_requested", T0 + MIN).money("60000", "USDT").to("0xtrusteddesk"));
    assert!(codes(&o).contains(&"amount_over_limit"));
}

#[test]
fn unusual_amounts_are_measured_against_the_accounts_own_history() {
    let e = engine();
    let mut s = settled();
    for (i, a) in ["100", "120", "80", "110"].iter().enumerate() {
        let o = run(&e, &mut s, ev("withdrawal_requested", T0 + i as i64 * HOUR).money(a, "USDT").to("0xabc"));
        assert_eq!(o.action, Action::Allow);
    }
    let o = run(&e, &mut s, ev("withdrawal_requested", T0 + 5 * HOUR).money("500", "USDT").to("0xabc"));
    assert_eq!(o.action, Action::Allow, "500 is under 5 × the median of 105");
    let o = run(&e, &mut s, ev("withdrawal_requested", T0 + 6 * HOUR).money("2000", "USDT").to("0xabc"));
    assert_eq!(o.action, Action::Hold);
    assert_eq!(fact(&o, "unusual_amount", "median"), "110");
    assert_eq!(fact(&o, "unusual_amount", "ratio"), "18.2");
    assert_eq!(
        o.reasons[0].explanation.en,
        "Withdrawal of 2000 USDT is 18.2× the account's median withdrawal of 110 USDT over 30 days"
    );
    let h = &o.holds[0];
    assert_eq!(
        (h.release, h.amount.as_ref().map(|m| m.amount.to_string())),
        (ReleasePolicy::Agent, Some("2000".into()))
    );

    let mut fresh = settled();
    let o = run(&e, &mut fresh, ev("withdrawal_requested", T0).money("2000", "USDT").to("0xabc"));
    assert_eq!(o.action, Action::Allow, "no history yet, under the absolute limit");
    let o = run(&e, &mut fresh, ev("withdrawal_requested", T0 + MIN).money("50000.01", "USDT").to("0xabc"));
    assert_eq!(fact(&o, "amount_over_limit", "limit"), "50000");
}

#[test]
fn structuring_just_below_the_threshold_is_held_for_an_agent() {
    let e = engine();
    let mut s = settled();
    let o = run(&e, &mut s, ev("deposit", T0).money("9500", "USDT"));
    assert_eq!(o.action, Action::Allow);
    let o = run(&e, &mut s, ev("p2p_order", T0 + HOUR).money("9800", "USDT"));
    assert_eq!(o.action, Action::Allow);
    let o = run(&e, &mut s, ev("deposit", T0 + 2 * HOUR).money("10500", "USDT"));
    assert_eq!(o.action, Action::Allow, "above the threshold is not structuring");
    let o = run(&e, &mut s, ev("withdrawal_requested", T0 + 3 * HOUR).money("9990", "USDT").to("0xabc"));
    assert!(codes(&o).contains(&"structuring"), "{:?}", codes(&o));
    assert_eq!(fact(&o, "structuring", "count"), 3);
    assert_eq!(fact(&o, "structuring", "threshold"), "10000");
    let mut later = settled();
    run(&e, &mut later, ev("deposit", T0).money("9500", "USDT"));
    run(&e, &mut later, ev("deposit", T0 + HOUR).money("9500", "USDT"));
    let o = run(&e, &mut later, ev("deposit", T0 + 30 * HOUR).money("9500", "USDT"));
    assert_eq!(o.action, Action::Allow, "outside the 24 h window");
}

#[test]
fn a_dormant_account_waking_up_to_withdraw_is_challenged() {
    let e = engine();
    let mut s = settled();
    let o = run(&e, &mut s, ev("withdrawal_requested", T0 + 200 * DAY).money("10", "USDT").to("0xabc"));
    assert_eq!(o.action, Action::Challenge);
    assert_eq!(fact(&o, "dormant_account", "days_inactive"), 200);
    let mut active = settled();
    let o = run(&e, &mut active, ev("withdrawal_requested", T0 + 100 * DAY).money("10", "USDT").to("0xabc"));
    assert!(!codes(&o).contains(&"dormant_account"));
}

#[test]
fn a_risky_device_is_challenged_and_flags_can_be_switched_off() {
    let o = run(&engine(), &mut settled(), ev("device_flagged", T0).device("phone-1").flags(&["tor", "root"]));
    assert_eq!(o.action, Action::Challenge);
    assert_eq!(fact(&o, "risky_device", "flags"), "tor, root");
    let src = thaw_engines::risk::policy::DEFAULT_POLICY
        .replace("flags = [\"root\", \"emulator\", \"vpn\", \"tor\", \"cloud\"]", "flags = [\"root\"]");
    assert!(src.contains("flags = [\"root\"]"));
    let e = Engine::new(Policy::parse(&src, &|_| Err("x".into())).unwrap());
    let o = run(&e, &mut settled(), ev("device_flagged", T0).device("phone-1").flags(&["vpn"]));
    assert_eq!(o.action, Action::Allow);
}

#[test]
fn each_detector_can_be_switched_off() {
    let src = thaw_engines::risk::policy::DEFAULT_POLICY.replace("enabled = true", "enabled = false");
    let e = Engine::new(Policy::parse(&src, &|_| Err("x".into())).unwrap());
    let mut s = settled();
    for i in 0..12 {
        run(&e, &mut s, ev("login_failed", T0 + i * 1_000).ip("203.0.113.9"));
    }
    let o = run(
        &e,
        &mut s,
        ev("login_succeeded", T0 - 8 * HOUR).ip("9.9.9.9").device("new").place("DE", "Frankfurt", 50.11, 8.68),
    );
    assert_eq!(o.action, Action::Allow, "{:?}", codes(&o));
    run(&e, &mut s, ev("password_changed", T0 + MIN));
    let o = run(
        &e,
        &mut s,
        ev("withdrawal_requested", T0 + 2 * MIN)
            .money("99999", "USDT")
            .to("0x01e2919679362dFBC9ee1644Ba9C6da6D6245BB1"),
    );
    let builtin: Vec<_> =
        codes(&o).into_iter().filter(|c| !c.starts_with("new_account") && *c != "withdrawal_burst").collect();
    assert!(builtin.is_empty(), "{builtin:?}");
}

#[test]
fn an_operators_rule_fires_with_its_facts_and_holds_as_written() {
    let e = engine_with(
        r#"
[[rules]]
code = "night_withdrawal_low_kyc"
action = "hold"
scopes = ["withdraw"]
release = "expiry_only"
hold_for = "12h"
explanation."zh-CN" = "KYC {kyc_level} 级账户在凌晨提现 {amount} {asset}，IP {ip}"
explanation.en = "Night-time withdrawal of {amount} {asset} at KYC level {kyc_level} from IP {ip}"
when = { all = [
  { field = "event.kind", op = "eq", value = "withdrawal_requested" },
  { field = "event.hour_utc", op = "in", value = [0, 1, 2, 3] },
  { field = "account.kyc_level", op = "lte", value = 2 },
  { field = "event.ip", op = "not_in_cidr", value = ["10.0.0.0/8"] },
  { not = { field = "event.asset", op = "in", value = ["BTC"] } },
] }
"#,
    );
    let night = T0 - T0.rem_euclid(DAY) + DAY + 2 * HOUR;
    let mut s = settled();
    let o = run(&e, &mut s, ev("withdrawal_requested", night).money("300", "USDT").to("0xabc").ip("8.8.4.4"));
    assert_eq!(o.action, Action::Hold);
    let r = o.reasons.iter().find(|r| r.code == "night_withdrawal_low_kyc").unwrap();
    assert_eq!(r.explanation.en, "Night-time withdrawal of 300 USDT at KYC level 2 from IP 8.8.4.4");
    assert_eq!(r.explanation.zh_cn, "KYC 2 级账户在凌晨提现 300 USDT，IP 8.8.4.4");
    let h = o.holds.iter().find(|h| h.reason.code == "night_withdrawal_low_kyc").unwrap();
    assert_eq!((h.release, h.expires_at_ms), (ReleasePolicy::ExpiryOnly, Some(night + 12 * HOUR)));
    for miss in [
        ev("withdrawal_requested", night + 3 * HOUR).money("300", "USDT").to("0xabc").ip("8.8.4.4"),
        ev("withdrawal_requested", night + 10 * MIN).money("300", "USDT").to("0xabc").ip("10.1.2.3"),
        ev("withdrawal_requested", night + 20 * MIN).money("0.01", "BTC").to("bc1qxyz").ip("8.8.4.4"),
    ] {
        let o = run(&e, &mut settled(), miss);
        assert!(!codes(&o).contains(&"night_withdrawal_low_kyc"), "{:?}", codes(&o));
    }
}

#[test]
fn count_and_since_conditions_look_at_recent_history() {
    let e = engine_with(
        r#"
[[rules]]
code = "many_addresses_after_change"
action = "challenge"
explanation."zh-CN" = "修改凭据后频繁添加地址"
explanation.en = "Addresses added repeatedly after a credential change"
when = { all = [
  { count = "address_added", within = "1h", op = "gte", value = 3 },
  { since = "credential_change", op = "lt", value = "6h" },
] }
"#,
    );
    let mut s = settled();
    run(&e, &mut s, ev("email_changed", T0));
    let mut last = Outcome::default();
    for i in 1..=3 {
        last = run(&e, &mut s, ev("address_added", T0 + i * MIN).to(&format!("0xaddr{i}")));
    }
    assert!(codes(&last).contains(&"many_addresses_after_change"));
    let mut s = settled();
    run(&e, &mut s, ev("email_changed", T0));
    for i in 1..=3 {
        last = run(&e, &mut s, ev("address_added", T0 + 7 * HOUR + i * MIN).to(&format!("0xaddr{i}")));
    }
    assert!(!codes(&last).contains(&"many_addresses_after_change"), "the change was over 6 h before");
}

#[test]
fn the_default_policys_own_rules_fire_on_a_new_account() {
    let e = engine();
    let young = Profile { kyc_level: 1, vip_level: 0, created_at_ms: T0 - 2 * DAY };
    let event = ev("withdrawal_requested", T0).money("6000", "USDT").to("0xabc").build();
    let o = e.evaluate(&event, &young, &mut AccountState::default(), T0);
    let r = o.reasons.iter().find(|r| r.code == "new_account_large_withdrawal").expect("fires");
    assert_eq!(r.explanation.en, "Withdrawal of 6000 USDT from an account opened 2 days ago");
}

#[test]
fn a_sign_in_that_wakes_a_dormant_account_does_not_hide_the_withdrawal_after_it() {
    let e = engine();
    let mut s = settled();
    run(
        &e,
        &mut s,
        ev("login_succeeded", T0 + 200 * DAY)
            .ip("101.80.1.1")
            .device("phone-1")
            .place("CN", "Shanghai", 31.2304, 121.4737),
    );
    let o = run(&e, &mut s, ev("withdrawal_requested", T0 + 200 * DAY + MIN).money("50", "USDT").to("0xabc"));
    assert!(codes(&o).contains(&"dormant_account"), "{:?}", codes(&o));
    let o = run(&e, &mut s, ev("withdrawal_requested", T0 + 202 * DAY).money("50", "USDT").to("0xabc"));
    assert!(!codes(&o).contains(&"dormant_account"), "two days after waking up it is an active account again");
}

#[test]
fn a_failed_challenge_forgets_the_pending_device_and_a_passed_one_trusts_only_what_it_names() {
    let e = engine();
    let mut s = settled();
    run(&e, &mut s, ev("login_succeeded", T0).ip("9.9.9.9").device("evil").place("CN", "Shanghai", 31.23, 121.47));
    run(&e, &mut s, ev("challenge_failed", T0 + MIN).ip("9.9.9.9").device("evil"));
    run(
        &e,
        &mut s,
        ev("login_succeeded", T0 + 2 * MIN).ip("101.80.1.2").device("laptop").place("CN", "Shanghai", 31.23, 121.47),
    );
    run(&e, &mut s, ev("challenge_passed", T0 + 3 * MIN).device("laptop"));
    let o = run(
        &e,
        &mut s,
        ev("login_succeeded", T0 + HOUR).ip("9.9.9.9").device("evil").place("CN", "Shanghai", 31.23, 121.47),
    );
    assert!(codes(&o).contains(&"new_device"), "the attacker's device is still unknown");
    let o = run(
        &e,
        &mut s,
        ev("login_succeeded", T0 + 2 * HOUR).ip("101.80.1.2").device("laptop").place("CN", "Shanghai", 31.23, 121.47),
    );
    assert!(!codes(&o).contains(&"new_device"));
}

#[test]
fn failed_logins_hold_again_once_an_earlier_hold_has_ended() {
    let e = engine();
    let mut s = settled();
    let mut holds = 0;
    for i in 0..40 {
        let o = run(&e, &mut s, ev("login_failed", T0 + i * MIN).ip("203.0.113.9"));
        holds += o.holds.len();
    }
    assert!(holds >= 2, "one failure a minute for 40 minutes: held again after the first hold ran out ({holds})");
}

#[test]
fn late_reports_neither_hide_a_newer_credential_change_nor_fake_travel() {
    let e = engine();
    let mut s = settled();
    run(&e, &mut s, ev("password_changed", T0));
    run(&e, &mut s, ev("email_changed", T0 - 3 * DAY));
    let o = run(&e, &mut s, ev("withdrawal_requested", T0 + 30 * MIN).money("10", "USDT").to("0xabc"));
    assert!(codes(&o).contains(&"withdrawal_after_credential_change"));
    let mut t = settled();
    run(
        &e,
        &mut t,
        ev("login_succeeded", T0).ip("101.80.1.1").device("phone-1").place("CN", "Shanghai", 31.2304, 121.4737),
    );
    let o = run(
        &e,
        &mut t,
        ev("login_succeeded", T0 - 20 * HOUR).ip("46.4.1.1").device("phone-1").place("DE", "Frankfurt", 50.11, 8.68),
    );
    assert!(!codes(&o).contains(&"impossible_travel"), "an older sign-in reported late");
}

#[test]
fn extreme_amounts_are_judged_without_overflow_and_trades_do_not_flush_withdrawal_history() {
    let e = engine();
    let mut s = settled();
    for i in 0..3 {
        run(&e, &mut s, ev("withdrawal_requested", T0 + i * MIN).money("0.000000000000000001", "XYZ").to("0xabc"));
    }
    let o = run(&e, &mut s, ev("withdrawal_requested", T0 + 10 * MIN).money("1000000000000000", "XYZ").to("0xabc"));
    assert!(codes(&o).contains(&"unusual_amount"), "{:?}", codes(&o));
    let mut t = settled();
    for i in 0..3 {
        run(&e, &mut t, ev("withdrawal_requested", T0 + i * MIN).money("100", "USDT").to("0xabc"));
    }
    for i in 0..80 {
        run(&e, &mut t, ev("trade", T0 + 5 * MIN + i * 1_000).money("1", "USDT"));
    }
    let o = run(&e, &mut t, ev("withdrawal_requested", T0 + HOUR).money("40000", "USDT").to("0xabc"));
    assert!(codes(&o).contains(&"unusual_amount"), "{:?}", codes(&o));
}

#[test]
fn rules_count_only_failures_and_withdrawals_within_their_windows_though_old_ones_linger() {
    let e = engine_with(
        r#"
[[rules]]
code = "failures_then_withdrawal"
action = "challenge"
explanation."zh-CN" = "登录失败 {failed_logins} 次后申请提现"
explanation.en = "Withdrawal after {failed_logins} failed sign-ins"
when = { all = [
  { field = "event.kind", op = "eq", value = "withdrawal_requested" },
  { field = "account.failed_logins", op = "gte", value = 2 },
] }

[[rules]]
code = "many_withdrawals_today"
action = "challenge"
explanation."zh-CN" = "24 小时内第 {withdrawals_24h} 笔提现"
explanation.en = "Withdrawal number {withdrawals_24h} in 24 hours"
when = { field = "account.withdrawals_24h", op = "gte", value = 3 }
"#,
    );
    let mut s = settled();
    for i in 0..2 {
        run(&e, &mut s, ev("login_failed", T0 + i * MIN).ip("203.0.113.9"));
    }
    let w = |at: i64| ev("withdrawal_requested", at).money("10", "USDT").to("0xabc");
    let o = run(&e, &mut s, w(T0 + 5 * MIN));
    assert_eq!(fact(&o, "failures_then_withdrawal", "failed_logins"), 2);
    // An hour later the failures have left the 15-minute window. Nothing has forgotten them
    // yet (only a failure does), but the rule does not count them.
    assert_eq!(s.failures.len(), 2);
    let o = run(&e, &mut s, w(T0 + HOUR));
    assert!(!codes(&o).contains(&"failures_then_withdrawal"), "{:?}", codes(&o));
    // Two withdrawals so far; the third within 24 hours fires, and one two days later does
    // not, though the earlier ones are still in the state.
    let o = run(&e, &mut s, w(T0 + 2 * HOUR));
    assert_eq!(fact(&o, "many_withdrawals_today", "withdrawals_24h"), 3);
    let o = run(&e, &mut s, w(T0 + 50 * HOUR));
    assert!(!codes(&o).contains(&"many_withdrawals_today"), "{:?}", codes(&o));
    assert!(s.txs.len() >= 3, "old withdrawals linger until the list is pruned");
}
