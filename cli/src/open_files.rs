//! The process's limit on open files.

/// Raises this process's soft limit on open files to its hard limit: a
/// server's connection cap is derived from it, and the usual soft limit
/// (1024) is far below what the machine allows. A process-wide setting, so
/// the CLI's to make, not the library's.
#[cfg(unix)]
pub fn raise_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit read and write `limit`, which outlives
    // both calls.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            // Failing leaves the limit as it was, which the cap follows.
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// Open files are not limited this way here.
#[cfg(not(unix))]
pub fn raise_limit() {}
