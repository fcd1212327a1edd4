//! The time source. Production uses the system clock; tests and simulations set and advance a
//! manual clock instead of sleeping.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

#[derive(Clone, Debug, Default)]
pub enum Clock {
    #[default]
    System,
    Manual(Arc<Mutex<DateTime<Utc>>>),
}

impl Clock {
    /// Creates a manual clock that stays at `start` until advanced.
    pub fn manual(start: DateTime<Utc>) -> Self {
        Self::Manual(Arc::new(Mutex::new(truncate(start))))
    }

    /// Returns the current time in whole microseconds, the precision PostgreSQL stores, so a
    /// value read back compares equal to the value written.
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Self::System => truncate(Utc::now()),
            Self::Manual(time) => *time.lock().expect("clock lock is never poisoned"),
        }
    }

    /// Moves a manual clock forward. Does nothing to the system clock.
    pub fn advance(&self, by: TimeDelta) {
        if let Self::Manual(time) = self {
            let mut time = time.lock().expect("clock lock is never poisoned");
            *time = truncate(*time + by);
        }
    }

    /// Sets a manual clock. Does nothing to the system clock.
    pub fn set(&self, to: DateTime<Utc>) {
        if let Self::Manual(time) = self {
            *time.lock().expect("clock lock is never poisoned") = truncate(to);
        }
    }
}

fn truncate(time: DateTime<Utc>) -> DateTime<Utc> {
    time.duration_trunc(TimeDelta::microseconds(1))
        .unwrap_or(time)
}
