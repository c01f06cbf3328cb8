//! Turns shared fairly between callers: a semaphore whose waiters are served
//! round-robin by caller rather than first come, first served, so that one
//! caller with many requests in line delays another caller by at most one
//! turn per caller ahead of it, not by its whole line.
//!
//! The connector takes its call slots from one, and its turns at the rate
//! limiter from another: an HTTP front names each request's caller by its
//! peer address ([`CallContext::for_peer`]).

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

/// What one call of a [`Connector`](crate::Connector) is made for: the caller
/// it shares the connector's call slots and rate-limit turns with, fairly,
/// among other callers, and a token that gives the call up while it waits
/// for them (its caller went away). A call already sent to Dixa is never
/// given up: it finishes and its outcome is known.
#[derive(Debug, Clone, Default)]
pub struct CallContext {
    pub(crate) caller: Caller,
    pub(crate) cancel: Option<CancellationToken>,
}

impl CallContext {
    /// A call for the client at `peer` (its IP address; the port is ignored,
    /// since one client opens many connections).
    pub fn for_peer(peer: IpAddr) -> Self {
        CallContext {
            caller: Caller(Some(peer)),
            cancel: None,
        }
    }

    /// The same call, given up while it waits for a slot or a rate-limit turn
    /// once `token` is cancelled.
    pub fn cancelled_by(mut self, token: CancellationToken) -> Self {
        self.cancel = Some(token);
        self
    }

    /// Completes when the call has been given up; never without a token.
    pub(crate) async fn cancelled(&self) {
        match &self.cancel {
            Some(token) => token.cancelled().await,
            None => std::future::pending().await,
        }
    }

    /// Whether the call has been given up.
    pub fn is_cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(CancellationToken::is_cancelled)
    }
}

/// Who waits in a [`FairSemaphore`]: a peer address, or the embedder itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Caller(Option<IpAddr>);

/// A counting semaphore that hands freed permits round-robin to the callers
/// waiting, each caller's own waiters in order.
pub(crate) struct FairSemaphore {
    state: Mutex<State>,
}

struct State {
    available: usize,
    /// Callers with waiters, in the order they are served next.
    lines: VecDeque<Line>,
    next_ticket: u64,
}

/// One caller's waiters, first come first served among themselves.
struct Line {
    caller: Caller,
    waiters: VecDeque<(u64, oneshot::Sender<()>)>,
}

/// A permit, handed back when dropped.
pub(crate) struct FairPermit {
    semaphore: Arc<FairSemaphore>,
}

impl Drop for FairPermit {
    fn drop(&mut self) {
        self.semaphore.release();
    }
}

impl FairSemaphore {
    pub(crate) fn new(permits: usize) -> Arc<Self> {
        Arc::new(FairSemaphore {
            state: Mutex::new(State {
                available: permits,
                lines: VecDeque::new(),
                next_ticket: 0,
            }),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Permits free now.
    pub(crate) fn available(&self) -> usize {
        self.state().available
    }

    /// A permit at once, when one is free and nobody waits for it.
    pub(crate) fn try_acquire(self: &Arc<Self>) -> Option<FairPermit> {
        self.take_free(&mut self.state())
    }

    /// A free permit from `state`, unless it has none or others wait in line.
    fn take_free(self: &Arc<Self>, state: &mut State) -> Option<FairPermit> {
        if state.available == 0 || !state.lines.is_empty() {
            return None;
        }
        state.available -= 1;
        Some(FairPermit {
            semaphore: Arc::clone(self),
        })
    }

    /// A permit for `caller`, in its turn among the callers waiting.
    /// Cancel-safe: a wait given up leaves the line, or hands on a permit it
    /// was granted meanwhile.
    pub(crate) async fn acquire(self: &Arc<Self>, caller: Caller) -> FairPermit {
        let (sender, receiver) = oneshot::channel();
        let ticket = {
            // One lock for the free permit and the line: a permit released
            // in between would otherwise wake nobody.
            let mut state = self.state();
            if let Some(permit) = self.take_free(&mut state) {
                return permit;
            }
            let ticket = state.next_ticket;
            state.next_ticket += 1;
            match state.lines.iter_mut().find(|line| line.caller == caller) {
                Some(line) => line.waiters.push_back((ticket, sender)),
                None => state.lines.push_back(Line {
                    caller,
                    waiters: VecDeque::from([(ticket, sender)]),
                }),
            }
            ticket
        };
        let mut waiting = Waiting {
            semaphore: self,
            caller,
            ticket,
            receiver,
            granted: false,
        };
        // The sender lives in the line until it grants, and the line lives as
        // long as `self`: it is never dropped unsent while this waits.
        if (&mut waiting.receiver).await.is_err() {
            return std::future::pending().await;
        }
        waiting.granted = true;
        FairPermit {
            semaphore: Arc::clone(self),
        }
    }

    /// Hands a permit to the next caller in turn, or frees it.
    fn release(&self) {
        let mut state = self.state();
        while let Some(mut line) = state.lines.pop_front() {
            let Some((_, sender)) = line.waiters.pop_front() else {
                continue;
            };
            if !line.waiters.is_empty() {
                // Served once: to the back of the round.
                state.lines.push_back(line);
            }
            if sender.send(()).is_ok() {
                return;
            }
        }
        state.available += 1;
    }
}

/// A wait in line; leaves the line when dropped before being granted.
struct Waiting<'s> {
    semaphore: &'s Arc<FairSemaphore>,
    caller: Caller,
    ticket: u64,
    receiver: oneshot::Receiver<()>,
    granted: bool,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if self.granted {
            return;
        }
        let mut state = self.semaphore.state();
        if let Some(index) = state.lines.iter().position(|l| l.caller == self.caller) {
            let still_waiting = state.lines.get_mut(index).and_then(|line| {
                let at = line.waiters.iter().position(|(t, _)| *t == self.ticket)?;
                line.waiters.remove(at)
            });
            if still_waiting.is_some() {
                if state.lines.get(index).is_some_and(|l| l.waiters.is_empty()) {
                    state.lines.remove(index);
                }
                return;
            }
        }
        drop(state);
        // Granted while being given up: pass the permit on.
        if self.receiver.try_recv().is_ok() {
            self.semaphore.release();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::time::Duration;

    use super::*;

    fn caller(last: u8) -> Caller {
        Caller(Some(IpAddr::from([127, 0, 0, last])))
    }

    /// Queues `count` waiters of `who` on `semaphore`, each recording its
    /// name in `order` when granted and keeping its permit until `hold` ends.
    fn queue(
        semaphore: &Arc<FairSemaphore>,
        who: &'static str,
        from: Caller,
        count: usize,
        order: &Arc<Mutex<Vec<&'static str>>>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        (0..count)
            .map(|_| {
                let (semaphore, order) = (Arc::clone(semaphore), Arc::clone(order));
                tokio::spawn(async move {
                    let _permit = semaphore.acquire(from).await;
                    order.lock().unwrap().push(who);
                    tokio::time::sleep(Duration::from_millis(1)).await;
                })
            })
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn a_caller_with_many_waiters_does_not_starve_one_that_comes_later() {
        let semaphore = FairSemaphore::new(1);
        let order = Arc::new(Mutex::new(Vec::new()));
        let held = semaphore.try_acquire().unwrap();
        let mut tasks = queue(&semaphore, "a", caller(2), 6, &order);
        tokio::task::yield_now().await;
        tasks.extend(queue(&semaphore, "b", caller(3), 2, &order));
        tokio::task::yield_now().await;
        drop(held);
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(
            *order.lock().unwrap(),
            ["a", "b", "a", "b", "a", "a", "a", "a"]
        );
        assert_eq!(semaphore.available(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_given_up_leaves_the_line_and_loses_no_permit() {
        let semaphore = FairSemaphore::new(1);
        let held = semaphore.try_acquire().unwrap();
        let given_up =
            tokio::time::timeout(Duration::from_millis(10), semaphore.acquire(caller(2))).await;
        assert!(given_up.is_err());
        assert!(semaphore.state().lines.is_empty());
        // Granted and given up at once: the permit goes back.
        let waiter = {
            let semaphore = Arc::clone(&semaphore);
            tokio::spawn(async move {
                let _ = semaphore.acquire(caller(3)).await;
            })
        };
        tokio::task::yield_now().await;
        drop(held);
        waiter.await.unwrap();
        assert_eq!(semaphore.available(), 1);
        let mut acquire = std::pin::pin!(semaphore.acquire(caller(4)));
        let now = futures_poll(&mut acquire);
        assert!(now, "a free permit is taken at once");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn permits_released_while_others_queue_are_never_lost() {
        for permits in [1, 3] {
            let semaphore = FairSemaphore::new(permits);
            let tasks: Vec<_> = (0..64u8)
                .map(|i| {
                    let semaphore = Arc::clone(&semaphore);
                    tokio::spawn(async move {
                        for _ in 0..200 {
                            let _permit = semaphore.acquire(caller(i % 4)).await;
                            tokio::task::yield_now().await;
                        }
                    })
                })
                .collect();
            for task in tasks {
                tokio::time::timeout(Duration::from_secs(30), task)
                    .await
                    .expect("a waiter was never woken")
                    .unwrap();
            }
            assert_eq!(semaphore.available(), permits);
            assert!(semaphore.state().lines.is_empty());
        }
    }

    /// Polls `future` once: whether it completed.
    fn futures_poll<F: std::future::Future>(future: &mut std::pin::Pin<&mut F>) -> bool {
        let waker = std::task::Waker::noop();
        let mut context = std::task::Context::from_waker(waker);
        future.as_mut().poll(&mut context).is_ready()
    }
}
