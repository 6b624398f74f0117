//! StopProvider: a signal every long wait selects on, so Terraform's interrupt ends waits.

use std::sync::Arc;

use tokio::sync::watch;

/// Cloneable; `stop()` wakes every `stopped()` waiter, now and later.
#[derive(Clone)]
pub struct StopSignal {
    tx: Arc<watch::Sender<bool>>,
}

impl Default for StopSignal {
    fn default() -> Self {
        let (tx, _) = watch::channel(false);
        Self { tx: Arc::new(tx) }
    }
}

impl StopSignal {
    pub fn stop(&self) {
        self.tx.send_replace(true);
    }

    pub fn is_stopped(&self) -> bool {
        *self.tx.borrow()
    }

    /// Completes once `stop()` has been called.
    pub async fn stopped(&self) {
        let mut rx = self.tx.subscribe();
        // wait_for returns at once when the value already matches; an error means the sender
        // is gone, which cannot happen while self holds it.
        let _ = rx.wait_for(|stopped| *stopped).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stop_wakes_waiters_before_and_after() {
        let s = StopSignal::default();
        let waiter = tokio::spawn({
            let s = s.clone();
            async move { s.stopped().await }
        });
        s.stop();
        waiter.await.expect("waiter task");
        // A waiter that starts after stop() returns at once.
        s.stopped().await;
        assert!(s.is_stopped());
    }
}
