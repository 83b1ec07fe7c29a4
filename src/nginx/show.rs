//! How bytes from the system, process lists and durations appear in nginx-reload's messages.
//! The lowest layer of the folder: every other file may use it, it uses none of them.

use std::time::Duration;

/// Bytes for a message: printable ASCII as is, the rest escaped, cut at `max` characters.
pub fn escape(bytes: &[u8], max: usize) -> String {
    let s: String = bytes.escape_ascii().to_string();
    if s.chars().count() > max {
        let cut: String = s.chars().take(max).collect();
        format!("{cut}...")
    } else {
        s
    }
}

/// `5s`, `0.5s`.
pub fn show_secs(d: Duration) -> String {
    format!("{}s", crate::secs::show(d))
}

/// `8342 8343`, or `none`.
pub fn join_pids(pids: &[i32]) -> String {
    if pids.is_empty() {
        return "none".to_string();
    }
    pids.iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows() {
        assert_eq!(show_secs(Duration::from_secs(5)), "5s");
        assert_eq!(show_secs(Duration::from_millis(500)), "0.5s");
        assert_eq!(join_pids(&[1, 2]), "1 2");
        assert_eq!(join_pids(&[]), "none");
    }
}
