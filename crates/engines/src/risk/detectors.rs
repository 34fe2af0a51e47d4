//! The built-in detectors of DESIGN.md. Each looks at one event with the account's state and,
//! when it fires, adds a reason with the concrete facts and, where the policy says so, a hold.

use super::engine::{HoldPlan, Outcome};
use super::policy::Policy;
use super::state::AccountState;
use rust_decimal::Decimal;
use std::net::IpAddr;
use thaw_domain::risk::reason::{fact_decimal, fact_int, fact_str};
use thaw_domain::risk::{
    Action, Event, EventKind, Facts, HoldOrigin, Reason, ReleasePolicy, Scope, ScopeSet, distance_km,
};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 86_400_000;

fn facts<const N: usize>(pairs: [(&str, serde_json::Value); N]) -> Facts {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn opt_str(v: Option<&str>) -> serde_json::Value {
    v.map(fact_str).unwrap_or(serde_json::Value::Null)
}

/// A UTC time as shown in explanations: `2026-11-22 08:00 UTC`.
pub fn fmt_utc(ms: i64) -> String {
    let days = ms.div_euclid(DAY);
    let rem = ms.rem_euclid(DAY);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", rem / HOUR, (rem % HOUR) / MINUTE)
}

pub fn denied_ip(out: &mut Outcome, ip: IpAddr) {
    let reason = Reason::new(
        "denied_ip",
        facts([("ip", fact_str(ip.to_string()))]),
        "IP {ip} 在平台的拒绝名单上",
        "IP {ip} is on the platform's deny list",
    );
    out.add(Action::Block, reason, None);
}

pub fn failed_logins(out: &mut Outcome, p: &Policy, state: &mut AccountState, ip: IpAddr, at: i64) {
    let cfg = &p.failed_logins;
    let from_ip = state.failures.iter().filter(|f| f.ip == ip).count() as i64;
    let minutes = cfg.window_ms / MINUTE;
    if from_ip >= cfg.challenge_after {
        // Hold once the count reaches the threshold, and again after an earlier hold ended.
        let hold = from_ip >= cfg.hold_after && state.login_hold_until.is_none_or(|until| at >= until);
        let f = facts([
            ("ip", fact_str(ip.to_string())),
            ("failures", fact_int(from_ip)),
            ("minutes", fact_int(minutes)),
            ("hold_minutes", fact_int(cfg.hold_for_ms / MINUTE)),
        ]);
        if hold {
            let reason = Reason::new(
                "failed_logins",
                f,
                "{minutes} 分钟内来自 IP {ip} 的登录失败 {failures} 次，登录暂停 {hold_minutes} 分钟",
                "{failures} failed sign-ins from IP {ip} within {minutes} minutes; sign-in paused for {hold_minutes} minutes",
            );
            state.login_hold_until = Some(at + cfg.hold_for_ms);
            let plan = HoldPlan {
                expires_at_ms: Some(at + cfg.hold_for_ms),
                ..HoldPlan::risk(
                    ScopeSet::new([Scope::Login]),
                    ReleasePolicy::Owner { factors: 1, wait_ms: 0 },
                    &reason,
                )
            };
            out.add(Action::Hold, reason, Some(plan));
        } else {
            let reason = Reason::new(
                "failed_logins",
                f,
                "{minutes} 分钟内来自 IP {ip} 的登录失败 {failures} 次",
                "{failures} failed sign-ins from IP {ip} within {minutes} minutes",
            );
            out.add(Action::Challenge, reason, None);
        }
        return;
    }
    // Many addresses at once: ask for more proof, never lock the owner out for it.
    let total = state.failures.len() as i64;
    if total >= cfg.account_challenge_after {
        let mut ips: Vec<IpAddr> = state.failures.iter().map(|f| f.ip).collect();
        ips.sort();
        ips.dedup();
        let reason = Reason::new(
            "failed_logins_distributed",
            facts([("failures", fact_int(total)), ("ips", fact_int(ips.len() as i64)), ("minutes", fact_int(minutes))]),
            "{minutes} 分钟内共有 {failures} 次登录失败，来自 {ips} 个不同 IP",
            "{failures} failed sign-ins from {ips} different IPs within {minutes} minutes",
        );
        out.add(Action::Challenge, reason, None);
    }
}

pub fn new_device_and_country(out: &mut Outcome, p: &Policy, event: &Event, state: &mut AccountState) {
    let baseline = state.logins.is_empty();
    let ip = || opt_str(event.ip.map(|i| i.to_string()).as_deref());
    if let Some(device) = &event.device_id {
        let known = super::state::knows(&state.devices, device);
        if !known && p.new_device && !baseline {
            let reason = Reason::new(
                "new_device",
                facts([("device_id", fact_str(device)), ("ip", ip())]),
                "从未使用过的设备 {device_id} 登录，IP {ip}",
                "Sign-in from a device not seen before ({device_id}), IP {ip}",
            );
            out.add(Action::Challenge, reason, None);
            super::state::remember(&mut state.pending_devices, device, 8);
        } else {
            super::state::remember(&mut state.devices, device, super::state::MAX_DEVICES);
        }
    }
    if let Some(geo) = &event.geo
        && let Some(country) = &geo.country
    {
        let known = super::state::knows(&state.countries, country);
        if !known && p.new_country && !baseline && !state.countries.is_empty() {
            let reason = Reason::new(
                "new_country",
                facts([("country", fact_str(country)), ("city", opt_str(geo.city.as_deref())), ("ip", ip())]),
                "首次从 {country}（{city}）登录，IP {ip}",
                "First sign-in from {country} ({city}), IP {ip}",
            );
            out.add(Action::Challenge, reason, None);
            super::state::remember(&mut state.pending_countries, country, 8);
        } else {
            super::state::remember(&mut state.countries, country, super::state::MAX_COUNTRIES);
        }
    }
}

pub fn impossible_travel(out: &mut Outcome, p: &Policy, event: &Event, state: &AccountState) {
    let cfg = &p.impossible_travel;
    let Some(here) = event.geo.as_ref().and_then(|g| g.point()) else { return };
    let Some(prev) = state.logins.iter().rev().find(|l| l.lat.is_some() && l.lon.is_some()) else { return };
    // A sign-in reported late (older than the previous one) says nothing about travel speed.
    if event.occurred_at_ms < prev.at {
        return;
    }
    let there = (prev.lat.unwrap_or_default(), prev.lon.unwrap_or_default());
    let km = distance_km(there, here);
    if km < cfg.min_distance_km {
        return;
    }
    let minutes = ((event.occurred_at_ms - prev.at).max(0) as f64) / 60_000.0;
    let speed = if minutes <= 0.0 { f64::INFINITY } else { km / (minutes / 60.0) };
    if speed <= cfg.max_speed_kmh {
        return;
    }
    let geo = event.geo.as_ref().expect("has a point");
    let from = prev
        .city
        .as_ref()
        .or(prev.country.as_ref())
        .map_or_else(|| format!("{:.2},{:.2}", there.0, there.1), |s| s.as_str().to_string());
    let f = facts([
        ("from_city", fact_str(from)),
        ("to_city", fact_str(geo.place())),
        ("from_ip", opt_str(prev.ip.map(|i| i.to_string()).as_deref())),
        ("ip", opt_str(event.ip.map(|i| i.to_string()).as_deref())),
        ("distance_km", fact_int((km / 10.0).round() as i64 * 10)),
        ("minutes", fact_int(minutes.round() as i64)),
        ("speed_kmh", fact_int(if speed.is_finite() { speed.round() as i64 } else { i64::MAX })),
    ]);
    let reason = Reason::new(
        "impossible_travel",
        f,
        "登录地点从{from_city}变为{to_city}，相距 {distance_km} 公里，间隔 {minutes} 分钟",
        "Sign-in from {to_city} {distance_km} km from {from_city} {minutes} minutes after the previous one",
    );
    let plan = HoldPlan {
        cooldown_ms: Some(p.cooldown_ms),
        ..HoldPlan::risk(cfg.scopes.clone(), ReleasePolicy::Owner { factors: 1, wait_ms: 0 }, &reason)
    };
    out.add(Action::Hold, reason, Some(plan));
}

pub fn credential_change(out: &mut Outcome, p: &Policy, event: &Event, state: &AccountState) {
    let Some(change) = &state.credential_change else { return };
    let window = p.credential_change.1;
    let since = event.occurred_at_ms - change.at;
    if since < 0 || since >= window {
        return;
    }
    let (zh, en) = match change.kind {
        EventKind::PasswordChanged => ("密码", "password"),
        EventKind::MfaChanged => ("两步验证", "two-factor authentication"),
        EventKind::EmailChanged => ("邮箱", "email address"),
        _ => ("手机号", "phone number"),
    };
    let until = change.at + window;
    let f = facts([
        ("change", fact_str(change.kind.code())),
        ("changed_at", fact_str(fmt_utc(change.at))),
        ("hours_since", fact_int(since / HOUR)),
        ("minutes_since", fact_int(since / MINUTE)),
        ("until", fact_str(fmt_utc(until))),
    ]);
    // Within two hours the minutes say more than "0 hours".
    let (zh_gap, en_gap) = if since < 2 * HOUR {
        ("{minutes_since} 分钟", "{minutes_since} minutes")
    } else {
        ("{hours_since} 小时", "{hours_since} hours")
    };
    let reason = Reason::new(
        "withdrawal_after_credential_change",
        f,
        &format!("{{changed_at}} 修改了{zh}，{zh_gap}后申请提现；为防盗号，提现暂停至 {{until}}"),
        &format!(
            "Withdrawal {en_gap} after the {en} was changed at {{changed_at}}; withdrawals are paused until {{until}}"
        ),
    );
    let plan = HoldPlan {
        expires_at_ms: Some(until),
        amount: event.money.clone(),
        ..HoldPlan::risk(ScopeSet::new([Scope::Withdraw]), ReleasePolicy::ExpiryOnly, &reason)
    };
    out.add(Action::Hold, reason, Some(plan));
}

pub fn listed_address(out: &mut Outcome, p: &Policy, event: &Event, action: Action) {
    let Some(address) = &event.address else { return };
    let list = if p.lists.sanctioned.contains(address) {
        "OFAC SDN"
    } else if p.lists.deny_addresses.contains(address) {
        "platform deny list"
    } else {
        return;
    };
    let f = facts([
        ("address", fact_str(address)),
        ("network", opt_str(event.network.as_deref())),
        ("list", fact_str(list)),
    ]);
    let reason = Reason::new(
        "listed_address",
        f,
        "目标地址 {address}（{network}）在名单上：{list}",
        "The destination address {address} ({network}) is on a list: {list}",
    );
    let plan = HoldPlan {
        origin: HoldOrigin::Compliance,
        confidential: true,
        amount: event.money.clone(),
        ..HoldPlan::risk(ScopeSet::new([Scope::Withdraw]), ReleasePolicy::ComplianceOnly, &reason)
    };
    out.add(action, reason, Some(plan));
}

fn median(v: &mut [Decimal]) -> Option<Decimal> {
    if v.is_empty() {
        return None;
    }
    // Selection, not a sort: the middle one in place, the smaller ones before it.
    let n = v.len();
    let (below, &mut mid, _) = v.select_nth_unstable(n / 2);
    Some(if n % 2 == 1 { mid } else { below.iter().max()?.checked_add(mid)? / Decimal::TWO })
}

pub fn unusual_amount(out: &mut Outcome, p: &Policy, event: &Event, state: &AccountState) {
    let cfg = &p.unusual_amount;
    let Some(m) = &event.money else { return };
    let plan = |reason: &Reason| HoldPlan {
        amount: Some(m.clone()),
        ..HoldPlan::risk(ScopeSet::new([Scope::Withdraw]), ReleasePolicy::Agent, reason)
    };
    if let Some(limit) = cfg.absolute.get(&m.asset)
        && m.amount > *limit
    {
        let f =
            facts([("amount", fact_decimal(m.amount)), ("asset", fact_str(&m.asset)), ("limit", fact_decimal(*limit))]);
        let reason = Reason::new(
            "amount_over_limit",
            f,
            "提现 {amount} {asset}，超过单笔上限 {limit} {asset}",
            "Withdrawal of {amount} {asset} exceeds the single-withdrawal limit of {limit} {asset}",
        );
        let hold = plan(&reason);
        out.add(Action::Hold, reason, Some(hold));
        return;
    }
    // The history fits on the stack: the state keeps at most MAX_TXS transactions.
    let mut buf = [Decimal::ZERO; super::state::MAX_TXS];
    let mut n = 0;
    let asset = super::state::AssetCode::new(&m.asset);
    for t in state.txs.iter() {
        if t.kind == EventKind::WithdrawalRequested
            && t.at > event.occurred_at_ms - p.unusual_lookback_ms
            && t.asset == asset
            && n < buf.len()
        {
            buf[n] = t.amount;
            n += 1;
        }
    }
    if n < cfg.min_history {
        return;
    }
    let Some(med) = median(&mut buf[..n]).filter(|d| !d.is_zero()) else { return };
    // Checked: an overflow means the amount is beyond any comparison, i.e. unusual.
    if med.checked_mul(cfg.multiplier).is_some_and(|limit| m.amount <= limit) {
        return;
    }
    let ratio = m.amount.checked_div(med).map(|r| r.round_dp(1)).unwrap_or(Decimal::MAX);
    let f = facts([
        ("amount", fact_decimal(m.amount)),
        ("asset", fact_str(&m.asset)),
        ("median", fact_decimal(med.round_dp(8))),
        ("ratio", fact_decimal(ratio)),
        ("days", fact_int(p.unusual_lookback_ms / DAY)),
    ]);
    let reason = Reason::new(
        "unusual_amount",
        f,
        "提现 {amount} {asset}，是该账户近 {days} 天提现中位数 {median} {asset} 的 {ratio} 倍",
        "Withdrawal of {amount} {asset} is {ratio}× the account's median withdrawal of {median} {asset} over {days} days",
    );
    let hold = plan(&reason);
    out.add(Action::Hold, reason, Some(hold));
}

pub fn structuring(out: &mut Outcome, p: &Policy, event: &Event, state: &AccountState) {
    let cfg = &p.structuring;
    let Some(m) = &event.money else { return };
    let Some(threshold) = cfg.thresholds.get(&m.asset) else { return };
    let Some(floor) = threshold.checked_mul(cfg.band) else { return };
    let in_band = |a: Decimal| a >= floor && a < *threshold;
    if !in_band(m.amount) {
        return;
    }
    let asset = super::state::AssetCode::new(&m.asset);
    let earlier = state
        .txs
        .iter()
        .filter(|t| {
            matches!(t.kind, EventKind::Deposit | EventKind::WithdrawalRequested | EventKind::P2pOrder)
                && t.asset == asset
                && t.at > event.occurred_at_ms - cfg.window_ms
                && in_band(t.amount)
        })
        .count();
    let count = earlier + 1;
    if count < cfg.min_count {
        return;
    }
    let f = facts([
        ("count", fact_int(count as i64)),
        ("threshold", fact_decimal(*threshold)),
        ("asset", fact_str(&m.asset)),
        ("hours", fact_int(cfg.window_ms / HOUR)),
    ]);
    let reason = Reason::new(
        "structuring",
        f,
        "{hours} 小时内有 {count} 笔交易金额略低于申报门槛 {threshold} {asset}",
        "{count} transactions just below the reporting threshold of {threshold} {asset} within {hours} hours",
    );
    let plan = HoldPlan {
        amount: Some(m.clone()),
        ..HoldPlan::risk(ScopeSet::new([Scope::Withdraw]), ReleasePolicy::Agent, &reason)
    };
    out.add(Action::Hold, reason, Some(plan));
}

/// How long after waking up from a dormant spell a withdrawal still counts as the dormant
/// account's first.
const WAKE_WINDOW_MS: i64 = DAY;

pub fn dormant(out: &mut Outcome, p: &Policy, event: &Event, state: &AccountState) {
    let at = event.occurred_at_ms;
    // Either this withdrawal itself ends the spell, or a sign-in shortly before it did.
    let (last, idle) = match (state.last_activity_at, state.woke) {
        (Some(last), _) if at - last > p.dormant.1 => (last, at - last),
        (_, Some((woke_at, before))) if at >= woke_at && at - woke_at < WAKE_WINDOW_MS => (before, woke_at - before),
        _ => return,
    };
    let f = facts([("days_inactive", fact_int(idle / DAY)), ("last_activity", fact_str(fmt_utc(last)))]);
    let reason = Reason::new(
        "dormant_account",
        f,
        "账户自 {last_activity} 起已 {days_inactive} 天无活动，现申请提现",
        "Withdrawal after {days_inactive} days without activity (last activity {last_activity})",
    );
    out.add(Action::Challenge, reason, None);
}

pub fn risky_device(out: &mut Outcome, p: &Policy, event: &Event) {
    let flagged: Vec<&str> = event.flags.iter().filter(|f| p.risky_device.1.contains(f)).map(|f| f.code()).collect();
    if flagged.is_empty() {
        return;
    }
    let f = facts([("flags", fact_str(flagged.join(", "))), ("device_id", opt_str(event.device_id.as_deref()))]);
    let reason = Reason::new(
        "risky_device",
        f,
        "设备 {device_id} 被平台标记为风险设备：{flags}",
        "The platform flagged device {device_id} as risky: {flags}",
    );
    out.add(Action::Challenge, reason, None);
}

/// The reason for the periodic inactivity hold.
pub fn inactivity_reason(last_activity_ms: i64, now_ms: i64) -> Reason {
    let f = facts([
        ("days_inactive", fact_int((now_ms - last_activity_ms) / DAY)),
        ("last_activity", fact_str(fmt_utc(last_activity_ms))),
    ]);
    Reason::new(
        "inactivity",
        f,
        "账户自 {last_activity} 起已 {days_inactive} 天无活动，为保护资产已暂时冻结",
        "No activity for {days_inactive} days (since {last_activity}); the account is held to protect it",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_the_middle_or_the_mean_of_the_two_middle_ones() {
        let d = |v: &[i64]| v.iter().map(|x| Decimal::from(*x)).collect::<Vec<_>>();
        assert_eq!(median(&mut d(&[3, 1, 2])), Some(Decimal::from(2)));
        assert_eq!(median(&mut d(&[40, 10, 30, 20])), Some(Decimal::from(25)));
        assert_eq!(median(&mut d(&[7, 7, 1, 100, 7, 2])), Some(Decimal::from(7)));
        assert_eq!(median(&mut d(&[5])), Some(Decimal::from(5)));
        assert_eq!(median(&mut []), None);
    }

    #[test]
    fn utc_times_are_formatted_as_civil_dates() {
        assert_eq!(fmt_utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(fmt_utc(1_795_075_200_000), "2026-11-19 08:00 UTC");
        assert_eq!(fmt_utc(951_782_400_000), "2000-02-29 00:00 UTC");
    }
}
