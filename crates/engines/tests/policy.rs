//! The policy file: mistakes come back with their line numbers, and a valid file loads lists.

use thaw_engines::risk::Policy;

fn errors(src: &str) -> Vec<(usize, String)> {
    match Policy::parse(src, &|path| {
        if path == "extra.txt" { Ok("0xFEED\n# comment\n".into()) } else { Err("no such file".into()) }
    }) {
        Ok(_) => vec![],
        Err(es) => es.into_iter().map(|e| (e.line, e.message)).collect(),
    }
}

#[test]
fn the_shipped_policy_is_valid() {
    let p = Policy::default_policy();
    assert!(p.lists.sanctioned.len() > 600);
    assert_eq!(p.rules.len(), 2);
}

#[test]
fn syntax_errors_name_their_line() {
    let es = errors("[detectors.failed_logins]\nenabled = true\nwindow = \n");
    assert_eq!(es.len(), 1);
    assert_eq!(es[0].0, 3, "{es:?}");
}

#[test]
fn unknown_keys_and_bad_values_name_their_lines() {
    let src = r#"
[detectors.failed_logins]
window = "15 minutes"
challenge_after = 0

[detectors.imposible_travel]
enabled = true
"#;
    let es = errors(src);
    assert!(es.iter().any(|(l, m)| *l == 6 && m.contains("imposible_travel")), "{es:?}");
    let src = "[detectors.failed_logins]\nwindow = \"15 minutes\"\nchallenge_after = 0\n";
    let es = errors(src);
    assert_eq!(es.iter().map(|e| e.0).collect::<Vec<_>>(), vec![2, 3], "{es:?}");
    assert!(es[0].1.contains("15 minutes"));
}

#[test]
fn rule_mistakes_are_each_reported_with_their_line() {
    let src = r#"
[[rules]]
code = "r1"
action = "hold"
release = "whoever"
scopes = ["withdraw"]
explanation."zh-CN" = "x"
explanation.en = "{amount}"
when = { field = "event.amout", op = "gt", value = 1 }

[[rules]]
code = "r2"
action = "challenge"
explanation."zh-CN" = "{nonsense}"
explanation.en = "y"
when = { field = "event.amount", op = "bigger", value = 1 }

[[rules]]
code = "r3"
action = "hold"
explanation."zh-CN" = "x"
explanation.en = "y"
when = { field = "event.ip", op = "in_cidr", value = ["10.0.0.0/99"] }
"#;
    let es = errors(src);
    let lines: Vec<usize> = es.iter().map(|e| e.0).collect();
    assert!(es.iter().any(|(l, m)| *l == 5 && m.contains("whoever")), "{es:?}");
    assert!(es.iter().any(|(l, m)| *l == 14 && m.contains("nonsense")), "{es:?}");
    assert!(es.iter().any(|(l, m)| *l == 16 && m.contains("bigger")), "{es:?}");
    assert!(es.iter().any(|(l, m)| *l == 18 && m.contains("scopes")), "{es:?}");
    assert!(es.iter().any(|(l, m)| *l == 23 && m.contains("in_cidr")), "{es:?}");
    assert!(es.iter().any(|(l, m)| *l == 9 && m.contains("event.amout")), "{es:?}");
    assert!(lines.windows(2).all(|w| w[0] <= w[1]), "sorted by line");
}

#[test]
fn wrong_field_types_and_missing_files_are_reported() {
    let src = r#"
[lists]
sanctioned = ["builtin:ofac", "extra.txt", "missing.txt"]
deny_ips = ["not-an-ip"]

[[rules]]
code = "r"
action = "challenge"
explanation."zh-CN" = "x"
explanation.en = "y"
when = { field = "account.kyc_level", op = "gt", value = "high" }
"#;
    let es = errors(src);
    assert!(es.iter().any(|(l, m)| *l == 3 && m.contains("missing.txt")), "{es:?}");
    assert!(es.iter().any(|(l, m)| *l == 4 && m.contains("not-an-ip")), "{es:?}");
    assert!(es.iter().any(|(l, _)| *l == 11), "{es:?}");
    let ok = Policy::parse("[lists]\nsanctioned = [\"extra.txt\"]\n", &|_| Ok("0xFEED\n".into())).unwrap();
    assert!(
        ok.lists.sanctioned.contains("0xfeed")
            && !ok.lists.sanctioned.contains("0x01e2919679362dFBC9ee1644Ba9C6da6D6245BB1")
    );
}

#[test]
fn inactive_days_beyond_a_century_are_refused_not_overflowed() {
    let src =
        "[detectors.dormant_account]\ninactive_days = 999999999999\n\n[detectors.inactivity]\ninactive_days = 36500\n";
    let es = errors(src);
    assert_eq!(es.len(), 1, "{es:?}");
    assert_eq!(es[0].0, 2);
    assert!(es[0].1.contains("dormant_account.inactive_days is at most 36500"), "{es:?}");
}

#[test]
fn durations_beyond_a_century_are_refused_not_overflowed() {
    // Found by fuzzing: a credential-change window of i64::MAX ms overflowed in the detector.
    let src = "[detectors.credential_change]\nwindow = \"106751991167d\"\n\n[release]\ncooldown = \"36500d\"\n";
    let es = errors(src);
    assert_eq!(es.len(), 1, "{es:?}");
    assert_eq!(es[0].0, 2);
    assert!(es[0].1.contains("credential_change.window") && es[0].1.contains("at most 36500d"), "{es:?}");
}
