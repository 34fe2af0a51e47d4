//! Benchmark (not a test): risk-engine evaluations per second on one core, every built-in
//! detector on, over realistic account state and a realistic mix of events.
//! Run: `cargo bench -p thaw-engines --bench engine`. Prints the median of 7 runs.

use std::time::Instant;
use thaw_domain::risk::{Event, EventInput, Geo};
use thaw_engines::risk::{AccountState, Engine, Policy, Profile};

/// The allocator `thaw` itself runs with (its main sets the same one).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ACCOUNTS: usize = 10_000;
const EVENTS: usize = 1_000_000;
const T0: i64 = 1_800_000_000_000;

const CITIES: &[(&str, &str, f64, f64)] = &[
    ("CN", "Shanghai", 31.23, 121.47),
    ("CN", "Beijing", 39.90, 116.40),
    ("SG", "Singapore", 1.35, 103.82),
    ("DE", "Frankfurt", 50.11, 8.68),
    ("GB", "London", 51.51, -0.13),
    ("US", "New York", 40.71, -74.01),
];

/// A well-mixed number for event `i` (splitmix64), so that every account sees the whole mix of
/// kinds: a multiplicative hash modulo 100 depends on `i`'s last two digits only, which gave
/// each account one kind of event for ever (an account withdrawing seven times an hour all day).
fn mix(i: usize) -> usize {
    let mut z = (i as u64).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) as usize
}

fn event(i: usize, account: usize, at: i64) -> Event {
    // The mix per thousand events: sign-ins, failed sign-ins, trades, deposits, withdrawals
    // (one in seven large), new addresses and, rarely, a password change.
    let r = mix(i) % 1000;
    let (kind, amount) = match r {
        0..=399 => ("login_succeeded", None),
        400..=499 => ("login_failed", None),
        500..=649 => ("trade", Some("250.5")),
        650..=809 => ("deposit", Some("1200")),
        810..=969 => ("withdrawal_requested", Some(if r.is_multiple_of(7) { "9500" } else { "300" })),
        970..=997 => ("address_added", None),
        _ => ("password_changed", None),
    };
    // One event in 25 comes from another city, one in 30 from another device.
    let city = CITIES[if r.is_multiple_of(25) { (i / 7) % CITIES.len() } else { account % 2 }];
    let input = EventInput {
        id: Some(format!("e{i}")),
        account_id: Some(format!("u{account}")),
        kind: Some(kind.into()),
        occurred_at_ms: Some(at),
        ip: Some(format!("10.{}.{}.{}", account % 250, (i / 250) % 250, i % 250)),
        device_id: Some(format!("dev-{}", if r.is_multiple_of(30) { i % 5 } else { account % 3 })),
        geo: Some(Geo {
            country: Some(city.0.into()),
            city: Some(city.1.into()),
            lat: Some(city.2),
            lon: Some(city.3),
        }),
        amount: amount.map(String::from),
        asset: amount.map(|_| "USDT".into()),
        address: matches!(kind, "withdrawal_requested" | "address_added").then(|| format!("0x{:040x}", account)),
        network: Some("ETH".into()),
        ..Default::default()
    };
    input.validate(at).expect("valid")
}

fn main() {
    let engine = Engine::new(Policy::default_policy());
    let profile = Profile { kyc_level: 2, vip_level: 1, created_at_ms: T0 - 400 * 86_400_000 };
    let mut states: Vec<AccountState> = vec![AccountState::default(); ACCOUNTS];
    // Warm the states with a month of history so detectors work on realistic data.
    for i in 0..(ACCOUNTS * 20) {
        let a = i % ACCOUNTS;
        let e = event(i, a, T0 - 30 * 86_400_000 + (i as i64) * 1_000);
        engine.evaluate(&e, &profile, &mut states[a], e.occurred_at_ms);
    }
    let events: Vec<(usize, Event)> = (0..EVENTS)
        .map(|i| {
            let a = (i.wrapping_mul(7919)) % ACCOUNTS;
            (a, event(i + 10_000_000, a, T0 + (i as i64) * 50))
        })
        .collect();
    let mut rates = Vec::new();
    let mut actions = [0usize; 4];
    for _ in 0..7 {
        let mut s = states.clone();
        let start = Instant::now();
        for (a, e) in &events {
            let o = engine.evaluate(e, &profile, &mut s[*a], e.occurred_at_ms);
            actions[o.action as usize] += 1;
        }
        rates.push(EVENTS as f64 / start.elapsed().as_secs_f64());
    }
    // Which reasons the mix raises (one more pass, not timed).
    let mut s = states.clone();
    let mut codes = std::collections::BTreeMap::<String, usize>::new();
    for (a, e) in &events {
        for r in engine.evaluate(e, &profile, &mut s[*a], e.occurred_at_ms).reasons {
            *codes.entry(r.code).or_default() += 1;
        }
    }
    println!("risk engine, every built-in detector on, {ACCOUNTS} accounts, {EVENTS} events per run, 7 runs, one core");
    println!("states kept in memory, visited in a scattered order (mostly not in the processor's caches)");
    println!("  evaluations/s: {}", spread(&mut rates));
    println!(
        "  decisions over all runs: allow {}, challenge {}, hold {}, block {}",
        actions[0], actions[1], actions[2], actions[3]
    );
    let codes: Vec<String> = codes.iter().map(|(c, n)| format!("{c} {n}")).collect();
    println!("  reasons in one run: {}", codes.join(", "));
    as_served(&engine, &profile, &states, &events[..SERVED_EVENTS]);
}

/// Events per run when the state goes through its stored form (JSON parsing dominates).
const SERVED_EVENTS: usize = 200_000;

/// The engine as `thaw serve` calls it: each event's account state is read from its stored
/// JSON just before the evaluation and written back after, so the engine works on a state that
/// was just loaded. Each evaluation is timed on its own (less the cost of reading the clock),
/// and the whole loop too: the per-event path (load, evaluate, save) without the database.
fn as_served(engine: &Engine, profile: &Profile, states: &[AccountState], events: &[(usize, Event)]) {
    // The cost of two clock readings, subtracted from every timed evaluation (median of many).
    let mut empty: Vec<u64> = (0..100_001)
        .map(|_| {
            let t = Instant::now();
            t.elapsed().as_nanos() as u64
        })
        .collect();
    empty.sort_unstable();
    let clock_ns = empty[empty.len() / 2];
    let (mut engine_rates, mut path_rates) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        let mut stored: Vec<String> = states.iter().map(|s| serde_json::to_string(s).expect("state")).collect();
        let (mut evaluating, start) = (0u64, Instant::now());
        for (a, e) in events {
            let mut state: AccountState = serde_json::from_str(&stored[*a]).expect("stored state");
            let t = Instant::now();
            let o = engine.evaluate(e, profile, &mut state, e.occurred_at_ms);
            evaluating += (t.elapsed().as_nanos() as u64).saturating_sub(clock_ns);
            std::hint::black_box(o);
            stored[*a] = serde_json::to_string(&state).expect("state");
        }
        path_rates.push(events.len() as f64 / start.elapsed().as_secs_f64());
        engine_rates.push(events.len() as f64 / (evaluating as f64 / 1e9));
    }
    println!(
        "as thaw serve calls it (state loaded from its JSON before each event, saved after; {} events per run, 7 runs, clock reading {clock_ns} ns subtracted)",
        events.len()
    );
    println!("  evaluations/s: {}", spread(&mut engine_rates));
    println!("  whole path (load, evaluate, save), events/s: {}", spread(&mut path_rates));
}

/// The median, the lowest and the highest of the runs' rates.
fn spread(rates: &mut [f64]) -> String {
    rates.sort_by(|a, b| a.total_cmp(b));
    format!("median {:.0}, min {:.0}, max {:.0}", rates[rates.len() / 2], rates[0], rates[rates.len() - 1])
}
