//! Thread-per-core execution: current-thread tokio runtimes, one per core,
//! each on a thread of its own.
//!
//! A call through the sandbox hands work back and forth between the guest,
//! wasmtime-wasi-http's tasks and the connection's task many times. On a
//! multi-thread runtime those tasks wake each other across threads (a futex
//! wake-up and a cache miss each time); on a current-thread runtime they all
//! run where the call started. [`PerCore::spawn`] places a task on the next
//! core, and the host's HTTP client keeps a connection pool per core, so a
//! call and its connection stay on one thread from start to finish (with
//! more threads than the machine has cores, threads share pools in turn).

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tokio::task::{JoinError, JoinHandle};

thread_local! {
    /// The index of the core this thread runs, on a [`PerCore`] thread.
    static CORE: Cell<Option<usize>> = const { Cell::new(None) };
}

/// The index of the [`PerCore`] core the calling thread runs, if any.
pub fn current_core() -> Option<usize> {
    CORE.with(Cell::get)
}

/// Current-thread runtimes, one per thread; tasks are placed round-robin.
/// Dropping it tells the runtimes to stop: each thread then drops its
/// runtime, cancelling the tasks still running, without being waited for.
///
/// A connector's per-core connection pools are chosen by core index, not by
/// `PerCore`: use one `PerCore` per process. Two of them serving one
/// connector would share pools by index, and a pooled connection would live
/// on whichever runtime opened it, to end when that `PerCore` is dropped.
pub struct PerCore {
    cores: Vec<Core>,
    next: AtomicUsize,
}

struct Core {
    handle: Handle,
    /// Dropped with the core: its thread's runtime then stops.
    _stop: oneshot::Sender<()>,
}

impl std::fmt::Debug for PerCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PerCore")
            .field("threads", &self.cores.len())
            .finish()
    }
}

impl PerCore {
    /// One runtime per core the process may use.
    pub fn for_each_core(name: &str) -> std::io::Result<Self> {
        Self::new(
            std::thread::available_parallelism().map_or(1, usize::from),
            name,
        )
    }

    /// `threads` runtimes (at least one), on threads named `{name}-{index}`.
    pub fn new(threads: usize, name: &str) -> std::io::Result<Self> {
        let cores = (0..threads.max(1))
            .map(|index| Core::start(index, name))
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(PerCore {
            cores,
            next: AtomicUsize::new(0),
        })
    }

    /// Threads (and runtimes).
    pub fn threads(&self) -> usize {
        self.cores.len()
    }

    /// Runs `task` on the next core's runtime. Dropping the returned
    /// [`CoreTask`] cancels it, as dropping the future itself would.
    pub fn spawn<F>(&self, task: F) -> CoreTask<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let next = self.next.fetch_add(1, Ordering::Relaxed) % self.cores.len();
        // `cores` is never empty (see `new`).
        let core = self.cores.get(next).or(self.cores.first());
        CoreTask(match core {
            Some(core) => core.handle.spawn(task),
            None => tokio::spawn(task),
        })
    }
}

/// A task running on a [`PerCore`] core: a future of its output, which
/// aborts the task when dropped before it finished.
pub struct CoreTask<T>(JoinHandle<T>);

impl<T> Future for CoreTask<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> Drop for CoreTask<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Core {
    /// Starts the thread, which builds its runtime and hands back its handle.
    fn start(index: usize, name: &str) -> std::io::Result<Core> {
        let (handle_tx, handle_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name(format!("{name}-{index}"))
            .spawn(move || {
                CORE.with(|core| core.set(Some(index)));
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                let runtime = match runtime {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = handle_tx.send(Err(e));
                        return;
                    }
                };
                let _ = handle_tx.send(Ok(runtime.handle().clone()));
                // Either a stop or the sender dropped ends the runtime.
                let _ = runtime.block_on(stopped);
            })?;
        let handle = handle_rx
            .recv()
            .map_err(|_| std::io::Error::other("a per-core thread ended while starting"))??;
        Ok(Core {
            handle,
            _stop: stop,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tasks_go_round_robin_and_know_their_core() {
        let cores = PerCore::new(2, "per-core-test").unwrap();
        let mut seen = Vec::new();
        for _ in 0..4 {
            let task = cores.spawn(async {
                (
                    current_core(),
                    std::thread::current().name().map(str::to_owned),
                )
            });
            seen.push(task.await.unwrap());
        }
        let name = |core: usize| Some(format!("per-core-test-{core}"));
        assert_eq!(
            seen,
            [
                (Some(0), name(0)),
                (Some(1), name(1)),
                (Some(0), name(0)),
                (Some(1), name(1))
            ]
        );
        assert_eq!(current_core(), None);
    }

    #[tokio::test]
    async fn dropping_a_core_task_cancels_it() {
        let cores = PerCore::new(1, "per-core-test").unwrap();
        let (dropped_tx, dropped_rx) = oneshot::channel::<()>();
        let task = cores.spawn(async move {
            // Dropped with the task's future when it is cancelled.
            let _guard = dropped_tx;
            std::future::pending::<()>().await;
        });
        drop(task);
        let cancelled = tokio::time::timeout(std::time::Duration::from_secs(10), dropped_rx);
        assert!(
            matches!(cancelled.await, Ok(Err(_))),
            "the task was cancelled"
        );
    }
}
