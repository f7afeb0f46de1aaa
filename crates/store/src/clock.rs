//! Time for the services: the system clock in production, a clock the tests move (a 5-year
//! lifecycle runs in a test by jumping to the 5th birthday).

use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

/// Where a service reads "now".
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time, whole seconds (certificates and CRLs carry seconds).
    fn now(&self) -> OffsetDateTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc();
        now.replace_nanosecond(0).unwrap_or(now)
    }
}

/// A clock that stands still until it is set or advanced.
#[derive(Debug)]
pub struct ManualClock(Mutex<OffsetDateTime>);

impl ManualClock {
    /// A clock showing `at`.
    pub fn new(at: OffsetDateTime) -> ManualClock {
        ManualClock(Mutex::new(at))
    }

    /// Moves the clock to `at` (also backwards: no service relies on monotony).
    pub fn set(&self, at: OffsetDateTime) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}
