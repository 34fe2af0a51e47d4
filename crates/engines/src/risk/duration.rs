//! Durations in the policy file: `90s`, `15m`, `24h`, `30d`.

/// The longest duration a policy may name: 100 years. Engines add durations to event times, and
/// longer ones overflowed (found by fuzzing: a credential-change window of 106751991167d).
pub const MAX_DURATION_MS: i64 = 36_500 * 86_400_000;

/// Milliseconds of a duration such as `15m`; None when malformed or longer than
/// [`MAX_DURATION_MS`].
pub fn parse_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = num.parse().ok()?;
    let ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(ms).filter(|&ms| ms <= MAX_DURATION_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_their_unit() {
        assert_eq!(parse_ms("15m"), Some(900_000));
        assert_eq!(parse_ms("24h"), Some(86_400_000));
        assert_eq!(parse_ms("30d"), Some(2_592_000_000));
        assert_eq!(parse_ms("90s"), Some(90_000));
        assert_eq!(parse_ms("36500d"), Some(MAX_DURATION_MS));
        for bad in ["", "15", "m", "1.5h", "-3h", "3 h", "3w", "36501d", "106751991167d", "99999999999999999999s"] {
            assert_eq!(parse_ms(bad), None, "{bad}");
        }
    }
}
