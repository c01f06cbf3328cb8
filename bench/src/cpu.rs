//! CPU time of the client's threads, from Linux's per-thread scheduler
//! statistics (nanoseconds on a CPU): the client's cost per call without the
//! simulator's, which runs in the same process on threads of its own.

use std::time::Duration;

/// Name prefix of every thread that runs the client's work (runtime workers
/// and their blocking pools); the simulator's threads are named otherwise.
pub const CLIENT_THREAD: &str = "bench-client";

/// CPU time the calling thread has used.
pub fn this_thread() -> Duration {
    schedstat("/proc/thread-self/schedstat").unwrap_or_default()
}

/// CPU time all client threads have used so far.
pub fn client_threads() -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    tasks
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|name| name.starts_with(CLIENT_THREAD))
        })
        .filter_map(|task| schedstat(&task.path().join("schedstat").to_string_lossy()))
        .sum()
}

/// The first field of a `schedstat` file: time spent on a CPU.
fn schedstat(path: &str) -> Option<Duration> {
    let text = std::fs::read_to_string(path).ok()?;
    let nanos = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}
