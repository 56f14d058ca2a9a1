//! What every handler reaches: the application and this server's own bookkeeping.

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use firebreak_app::App;

use crate::metrics::Metrics;
use crate::request_log::RequestLog;

/// What every handler reaches: the application, and this server's own bookkeeping (metrics, the
/// request log, request ids). Dereferences to the [`App`].
pub struct Server {
    app: App,
    pub(crate) metrics: Metrics,
    pub(crate) request_log: RequestLog,
    pub(crate) request_ids: AtomicU64,
}

/// The server, shared by every request.
pub type Shared = Arc<Server>;

impl Server {
    /// The HTTP server of `app`.
    pub fn new(app: App) -> Shared {
        Arc::new(Server {
            app,
            metrics: Metrics::default(),
            request_log: RequestLog::default(),
            request_ids: AtomicU64::new(1),
        })
    }

    /// The application the server serves.
    pub fn app(&self) -> &App {
        &self.app
    }
}

impl Deref for Server {
    type Target = App;

    fn deref(&self) -> &App {
        &self.app
    }
}
