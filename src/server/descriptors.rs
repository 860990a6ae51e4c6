//! The file-descriptor budget: every connection holds one descriptor, and when the process
//! runs out, `accept` fails for everyone (a probe's 1,030 idle connections under the common
//! `ulimit -n 1024` made every call time out, old connections and new, while tonic's accept
//! loop retried at 134 % CPU). So the connection limit must leave room for what the server
//! itself opens.
//!
//! At start the soft limit is raised to the hard limit (as Go's runtime and many servers do;
//! the hard limit is the administrator's choice, the soft one usually a shell default), then
//! `connections.max_total` is checked against it: the default is lowered to fit, with a
//! warning; a number given explicitly that does not fit stops the start.

use crate::config::{ConfigError, connections::DEFAULT_MAX_CONNECTIONS};

/// Descriptors kept for the server itself: the listeners, the database (SQLite's connections
/// with their `-wal` and `-shm` files, or PostgreSQL's pool), the metrics endpoint and its
/// scrapes, key and checkpoint files, and the runtime's own (an idle server on SQLite holds
/// about 30).
pub(super) const RESERVED: u64 = 128;

/// Raises the soft open-file limit to the hard limit; the soft limit after that, if known.
#[cfg(unix)]
fn raise_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit read and write the struct passed; RLIMIT_NOFILE concerns
    // only this process.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    Some(limit.rlim_cur)
}

#[cfg(not(unix))]
fn raise_limit() -> Option<u64> {
    None
}

/// The connection limit to serve with: `configured`, or the default lowered to fit the
/// descriptor budget.
pub(super) fn max_connections(configured: Option<usize>) -> Result<usize, ConfigError> {
    fit(configured, raise_limit())
}

/// [`max_connections`] for an open-file limit of `limit` descriptors (`None`: unknown).
fn fit(configured: Option<usize>, limit: Option<u64>) -> Result<usize, ConfigError> {
    let Some(limit) = limit else {
        return Ok(configured.unwrap_or(DEFAULT_MAX_CONNECTIONS));
    };
    let room = usize::try_from(limit.saturating_sub(RESERVED)).unwrap_or(usize::MAX);
    let advice = format!(
        "the open-file limit is {limit} descriptors and {RESERVED} are kept for the database, \
         files and the runtime: raise the limit (ulimit -n, systemd's LimitNOFILE=)"
    );
    match configured {
        _ if room == 0 => Err(ConfigError::Invalid(format!(
            "connections.max_total: no room for connections; {advice}"
        ))),
        Some(n) if n > room => Err(ConfigError::Invalid(format!(
            "connections.max_total (--max-connections) {n} does not fit: {advice}, or set it \
             to {room} or less"
        ))),
        Some(n) => Ok(n),
        None if DEFAULT_MAX_CONNECTIONS > room => {
            tracing::warn!(
                max_connections = room,
                open_file_limit = limit,
                "connection limit lowered to fit the open-file limit"
            );
            Ok(room)
        }
        None => Ok(DEFAULT_MAX_CONNECTIONS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_fits_itself_to_a_small_descriptor_limit() {
        assert_eq!(fit(None, Some(20_000)).unwrap(), DEFAULT_MAX_CONNECTIONS);
        assert_eq!(fit(None, Some(1024)).unwrap(), 1024 - RESERVED as usize);
        assert_eq!(fit(None, None).unwrap(), DEFAULT_MAX_CONNECTIONS);
    }

    #[test]
    fn an_explicit_limit_that_does_not_fit_is_an_error_saying_what_to_do() {
        assert_eq!(fit(Some(896), Some(1024)).unwrap(), 896);
        let err = fit(Some(5000), Some(1024)).unwrap_err().to_string();
        assert!(err.contains("connections.max_total"), "{err}");
        assert!(err.contains("1024"), "{err}");
        assert!(err.contains("896 or less"), "{err}");
        let err = fit(None, Some(100)).unwrap_err().to_string();
        assert!(err.contains("no room"), "{err}");
    }
}
