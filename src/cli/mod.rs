//! One module per tool: its clap definition, its legacy grammar, and `main`; plus the little
//! grammar every tool shares.

use std::time::Duration;

pub mod garp;
pub mod httpcheck;
pub mod nginx_reload;
pub mod vip_bind;
pub mod vip_unbind;

/// The `EXIT_NOTES` entry of a code a tool never exits with.
pub const NOT_USED: &str = "not used";

/// Seconds as every vipkit tool takes them, like `arping -i` and `curl -m`: digits with an
/// optional fraction (`1`, `0.2`, `.5`, `2.`), from 0 to `max`. No sign, exponent, `inf` or
/// `nan`. The error names the value, for clap's `invalid value` line.
pub fn parse_seconds(text: &str, max: u32) -> Result<Duration, String> {
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

/// [`parse_seconds`] for a deadline, which must be more than 0.
pub fn parse_deadline(text: &str, max: u32) -> Result<Duration, String> {
    match parse_seconds(text, max)? {
        Duration::ZERO => Err(format!(
            "{text:?}: the deadline must be more than 0 seconds"
        )),
        d => Ok(d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_parse_like_arping_and_curl() {
        assert_eq!(parse_seconds("1", 60), Ok(Duration::from_secs(1)));
        assert_eq!(parse_seconds("0.2", 60), Ok(Duration::from_millis(200)));
        assert_eq!(parse_seconds(".5", 60), Ok(Duration::from_millis(500)));
        assert_eq!(parse_seconds("2.", 60), Ok(Duration::from_secs(2)));
        assert_eq!(parse_seconds("0", 60), Ok(Duration::ZERO));
        assert_eq!(parse_seconds("60", 60), Ok(Duration::from_secs(60)));
        for bad in [
            "", ".", "-1", "+1", "1e3", "inf", "nan", "1s", " 1", "1.2.3", "60.5",
        ] {
            let e = parse_seconds(bad, 60).unwrap_err();
            assert!(e.contains(&format!("{bad:?}")), "{e}");
        }
        assert!(parse_seconds("99999999999999999999999", 86_400).is_err());
        assert!(parse_deadline("0", 60).is_err());
        assert!(parse_deadline("0.001", 60).is_ok());
    }
}
