//! Durations in the policy file: `90s`, `15m`, `24h`, `30d`.

/// Milliseconds of a duration such as `15m`; None when malformed.
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
    n.checked_mul(ms)
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
        for bad in ["", "15", "m", "1.5h", "-3h", "3 h", "3w"] {
            assert_eq!(parse_ms(bad), None, "{bad}");
        }
    }
}
