//! Seconds as every vipkit tool reads and writes them: `1`, `0.2`, `.5` on the command line (like
//! `arping -i` and `curl -m`), and `2`, `0.05`, `1.25` in messages.

use std::time::Duration;

/// Seconds as every vipkit tool takes them, like `arping -i` and `curl -m`: digits with an
/// optional fraction (`1`, `0.2`, `.5`, `2.`), from 0 to `max`. No sign, exponent, `inf` or
/// `nan`. The error names the value, for clap's `invalid value` line.
pub fn parse(text: &str, max: u32) -> Result<Duration, String> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    let parsed = if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) {
        None
    } else {
        text.parse::<f64>().ok()
    };
    match parsed {
        None => Err(format!("{text:?} is not a number of seconds")),
        Some(s) if s > f64::from(max) => Err(format!("{text:?} is more than {max} seconds")),
        Some(s) => Ok(Duration::from_secs_f64(s)),
    }
}

/// [`parse`] for a deadline, which must be more than 0.
pub fn parse_deadline(text: &str, max: u32) -> Result<Duration, String> {
    match parse(text, max)? {
        Duration::ZERO => Err(format!(
            "{text:?}: the deadline must be more than 0 seconds"
        )),
        d => Ok(d),
    }
}

/// A duration in seconds as people write it, without a unit: `2`, `0.5`, `1.25`, `0.0001`
/// (at most six decimals, trailing zeros dropped).
pub fn show(d: Duration) -> String {
    let s = format!("{:.6}", d.as_secs_f64());
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_parse_like_arping_and_curl() {
        assert_eq!(parse("1", 60), Ok(Duration::from_secs(1)));
        assert_eq!(parse("0.2", 60), Ok(Duration::from_millis(200)));
        assert_eq!(parse(".5", 60), Ok(Duration::from_millis(500)));
        assert_eq!(parse("2.", 60), Ok(Duration::from_secs(2)));
        assert_eq!(parse("0", 60), Ok(Duration::ZERO));
        assert_eq!(parse("60", 60), Ok(Duration::from_secs(60)));
        for bad in [
            "", ".", "-1", "+1", "1e3", "inf", "nan", "1s", " 1", "1.2.3", "60.5",
        ] {
            let e = parse(bad, 60).unwrap_err();
            assert!(e.contains(&format!("{bad:?}")), "{e}");
        }
        assert!(parse("99999999999999999999999", 86_400).is_err());
        assert!(parse_deadline("0", 60).is_err());
        assert!(parse_deadline("0.001", 60).is_ok());
    }

    #[test]
    fn seconds_are_shown_short() {
        assert_eq!(show(Duration::from_secs(2)), "2");
        assert_eq!(show(Duration::from_millis(500)), "0.5");
        assert_eq!(show(Duration::from_millis(1250)), "1.25");
        assert_eq!(show(Duration::from_micros(100)), "0.0001");
        assert_eq!(show(Duration::from_secs_f64(0.3)), "0.3");
    }
}
