//! The worker registry: every background task and thread of the application, started in one
//! place ([`register`]) and stopped and joined together ([`Workers::stop`]).
//!
//! A worker is woken by what the store announces (a commit that changed incidents), by its own
//! deadlines, or by a poll that finds another replica's work; nothing wakes a worker by hand. Each
//! one watches a [`Stop`] signal and returns when it is raised, after finishing what it was doing.
//! The ingest pipeline stops differently: its queue is closed and drained, so that everything
//! answered `202` is written before it returns (see `alerts`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::alerts::Pipeline;
use crate::heartbeats::Heartbeats;
use crate::outcomes::Outcomes;
use crate::paging::Pager;
use crate::signals::Monitor;

/// Every worker of the application. To add a capability's worker, add a line here.
pub(crate) fn register(
    workers: &mut Workers,
    pipeline: Pipeline,
    pager: &Arc<Pager>,
    monitor: &Arc<Monitor>,
    heartbeats: &Arc<Heartbeats>,
    outcomes: &Arc<Outcomes>,
) {
    pipeline.spawn(workers);
    workers.spawn("pager", pager.clone().run(workers.stop_signal()));
    workers.spawn("monitor", monitor.clone().run(workers.stop_signal()));
    workers.spawn("ping writer", heartbeats.clone().write(workers.stop_signal()));
    workers.spawn("heartbeat watcher", heartbeats.clone().watch(workers.stop_signal()));
    workers.spawn("outcome evaluator", outcomes.clone().evaluate(workers.stop_signal()));
}

/// The running workers of one application.
pub(crate) struct Workers {
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<(&'static str, JoinHandle<()>)>>,
    threads: Mutex<Vec<(&'static str, std::thread::JoinHandle<()>)>>,
}

/// What a worker watches to know it should stop.
#[derive(Clone)]
pub(crate) struct Stop(watch::Receiver<bool>);

impl Stop {
    /// Completes once stopping is asked for (at once if it was already).
    pub(crate) async fn requested(&mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }

    pub(crate) fn is_requested(&self) -> bool {
        *self.0.borrow()
    }
}

impl Workers {
    pub(crate) fn new() -> Workers {
        Workers { stop: watch::channel(false).0, tasks: Mutex::default(), threads: Mutex::default() }
    }

    /// A signal for a new worker to watch.
    pub(crate) fn stop_signal(&self) -> Stop {
        Stop(self.stop.subscribe())
    }

    /// Runs `work` as a task of the application, joined on [`Workers::stop`].
    pub(crate) fn spawn(&self, name: &'static str, work: impl Future<Output = ()> + Send + 'static) {
        let handle = tokio::spawn(work);
        self.tasks.lock().expect("the worker list lock is never poisoned").push((name, handle));
    }

    /// Keeps `thread` to be joined on [`Workers::stop`].
    pub(crate) fn adopt_thread(&self, name: &'static str, thread: std::thread::JoinHandle<()>) {
        self.threads.lock().expect("the worker list lock is never poisoned").push((name, thread));
    }

    /// Raises the stop signal.
    pub(crate) fn request_stop(&self) {
        self.stop.send_replace(true);
    }

    /// Waits for every worker, each for at most `timeout`; a task that has not returned by then is
    /// aborted, and said so in the log. Returns the names of the workers that had to be cut short.
    /// After [`Workers::request_stop`].
    pub(crate) async fn join(&self, timeout: Duration) -> Vec<&'static str> {
        let mut cut_short = Vec::new();
        let tasks = std::mem::take(&mut *self.tasks.lock().expect("the worker list lock is never poisoned"));
        for (name, mut handle) in tasks {
            if tokio::time::timeout(timeout, &mut handle).await.is_err() {
                tracing::warn!(worker = name, timeout_secs = timeout.as_secs(), "worker_stop_timed_out");
                handle.abort();
                let _ = handle.await;
                cut_short.push(name);
            }
        }
        let threads =
            std::mem::take(&mut *self.threads.lock().expect("the worker list lock is never poisoned"));
        for (name, thread) in threads {
            let joined = tokio::task::spawn_blocking(move || thread.join());
            match tokio::time::timeout(timeout, joined).await {
                Ok(Ok(Ok(()))) => {}
                Ok(_) => tracing::error!(worker = name, "worker_thread_panicked"),
                Err(_) => {
                    tracing::warn!(worker = name, timeout_secs = timeout.as_secs(), "worker_stop_timed_out");
                    cut_short.push(name);
                }
            }
        }
        cut_short
    }
}
