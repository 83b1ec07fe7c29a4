//! The exit-code table shared by every vipkit tool: data only. Printing, clap handling and the
//! tools' `main` live in `cli/`; each tool's notes on the codes are its `cli::<tool>::EXIT_NOTES`.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success: the asked-for state holds, the check passed, packets sent |
//! | 1 | failure: could not be done now, or the check failed |
//! | 2 | usage: the command as written can never succeed |
//! | 3 | no privilege (EPERM/EACCES); the message names the capability |
//! | 4 | conflict: the address answers from another host, or collides with existing state |

/// Success: the asked-for state holds, the check passed, packets sent.
pub const SUCCESS: u8 = 0;
/// Failure: could not be done now, or the check failed.
pub const FAILURE: u8 = 1;
/// Usage: the command as written can never succeed.
pub const USAGE: u8 = 2;
/// No privilege: EPERM/EACCES.
pub const NOPERM: u8 = 3;
/// Conflict: duplicate address on the network, or collision with existing state.
pub const CONFLICT: u8 = 4;

/// One row of the exit-code table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    pub code: u8,
    /// One word: `success`, `failure`, `usage`, `no privilege`, `conflict`.
    pub name: &'static str,
    /// What the code means for every tool; each tool adds its own notes (`EXIT_NOTES`).
    pub meaning: &'static str,
}

/// The table every tool, man page and `--help` shows (DESIGN.md "Exit status").
pub const TABLE: [Code; 5] = [
    Code {
        code: SUCCESS,
        name: "success",
        meaning: "the asked-for state holds (changed now or already so), the check passed, \
                  packets sent.",
    },
    Code {
        code: FAILURE,
        name: "failure",
        meaning: "could not be done now, or the check failed.",
    },
    Code {
        code: USAGE,
        name: "usage",
        meaning: "the command as written can never succeed (bad flag, address or number).",
    },
    Code {
        code: NOPERM,
        name: "no privilege",
        meaning: "EPERM or EACCES; the message names the capability.",
    },
    Code {
        code: CONFLICT,
        name: "conflict",
        meaning: "the address answers from another host, or the request collides with \
                  existing state.",
    },
];
