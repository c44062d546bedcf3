//! How much CPU a contributing browser may use, and how a compute worker holds to it.
//!
//! Two pure pieces, time passed in as milliseconds on any monotonic clock:
//! - [`IdlePolicy::share`] turns the page's idle signals (visibility, focus, last input, frame
//!   rate, battery, Save-Data) into the fraction of a core each compute worker may use now.
//! - [`DutyCycle`] sizes work slices and says how long to sleep after each one so that busy time
//!   over wall time stays at or under that fraction, correcting for timers that fire late.
//!
//! Not consensus code: floats are fine here (nothing is compared across replicas).

use thiserror::Error;

use crate::error::ErrorCode;

/// A throttle parameter out of range.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ThrottleError {
    /// `cpu_limit` must be in (0, 1].
    #[error("cpuLimit must be a number in (0, 1], got {0}")]
    CpuLimit(f64),
    /// A duration (minimum idle time, slice target) must be finite and non-negative.
    #[error("{what} must be a finite number of milliseconds >= 0, got {value}")]
    Duration {
        /// Which setting.
        what: &'static str,
        /// The value given.
        value: f64,
    },
}

impl ErrorCode for ThrottleError {
    fn code(&self) -> &'static str {
        match self {
            Self::CpuLimit(_) => "EN-160",
            Self::Duration { .. } => "EN-161",
        }
    }
}

/// What the page reports about its visitor and device.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Signals {
    /// `document.visibilityState === 'visible'`.
    pub visible: bool,
    /// `document.hasFocus()`.
    pub focused: bool,
    /// Milliseconds since the last keyboard, pointer, wheel or touch input; `None` if none yet.
    pub ms_since_input: Option<f64>,
    /// Frames per second measured with `requestAnimationFrame`; `None` until measured.
    pub frame_rate: Option<f64>,
    /// The device runs on battery (`getBattery().charging === false`).
    pub on_battery: bool,
    /// Battery charge in [0, 1], if known.
    pub battery_level: Option<f64>,
    /// The visitor asked to save data (`navigator.connection.saveData`).
    pub save_data: bool,
}

/// Why the share is what it is (the most limiting rule that applied).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Nothing limits: the full configured limit.
    Idle,
    /// Paused by the page or the visitor.
    Paused,
    /// The tab is hidden: no work at all.
    Hidden,
    /// `focusRequired` and the page lacks focus.
    Unfocused,
    /// Save-Data is on: no work (tasks cost the visitor bandwidth).
    SaveData,
    /// On battery below 20 %: no work.
    BatteryLow,
    /// On battery: half the limit.
    OnBattery,
    /// The frame rate dropped: a quarter (under 30 fps) or half (under 50 fps) of the limit.
    FramesDropping,
    /// The visitor used the page within `min_idle_ms`: half the limit.
    VisitorActive,
}

impl Reason {
    /// The name used in stats and the widget.
    pub fn name(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Paused => "paused",
            Self::Hidden => "hidden",
            Self::Unfocused => "unfocused",
            Self::SaveData => "save-data",
            Self::BatteryLow => "battery-low",
            Self::OnBattery => "on-battery",
            Self::FramesDropping => "frames-dropping",
            Self::VisitorActive => "visitor-active",
        }
    }
}

/// The fraction of a core each compute worker may use, and why.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Share {
    /// In [0, cpu_limit].
    pub fraction: f64,
    /// The most limiting rule.
    pub reason: Reason,
}

/// The site's contribution settings (`contribution.cpuLimit` and `idle.*` of `EdgeNet.init`).
#[derive(Debug, Clone, PartialEq)]
pub struct IdlePolicy {
    cpu_limit: f64,
    focus_required: bool,
    min_idle_ms: f64,
    respect_battery: bool,
}

/// Below this battery charge, nothing runs on battery.
const LOW_BATTERY: f64 = 0.2;

impl IdlePolicy {
    /// Checks and keeps the settings.
    pub fn new(
        cpu_limit: f64,
        focus_required: bool,
        min_idle_ms: f64,
        respect_battery: bool,
    ) -> Result<Self, ThrottleError> {
        if !(cpu_limit > 0.0 && cpu_limit <= 1.0) {
            return Err(ThrottleError::CpuLimit(cpu_limit));
        }
        check_ms("minIdleTime", min_idle_ms)?;
        Ok(Self {
            cpu_limit,
            focus_required,
            min_idle_ms,
            respect_battery,
        })
    }

    /// The configured limit.
    pub fn cpu_limit(&self) -> f64 {
        self.cpu_limit
    }

    /// The share allowed now. Hard stops come first; then the factors multiply and the smallest
    /// one names the reason.
    pub fn share(&self, s: &Signals, paused: bool) -> Share {
        let stop = |reason| Share {
            fraction: 0.0,
            reason,
        };
        if paused {
            return stop(Reason::Paused);
        }
        if !s.visible {
            return stop(Reason::Hidden);
        }
        if self.focus_required && !s.focused {
            return stop(Reason::Unfocused);
        }
        if s.save_data {
            return stop(Reason::SaveData);
        }
        if self.respect_battery && s.on_battery && s.battery_level.is_some_and(|l| l < LOW_BATTERY)
        {
            return stop(Reason::BatteryLow);
        }
        let mut factors = Vec::with_capacity(3);
        if self.respect_battery && s.on_battery {
            factors.push((0.5, Reason::OnBattery));
        }
        match s.frame_rate {
            Some(fps) if fps < 30.0 => factors.push((0.25, Reason::FramesDropping)),
            Some(fps) if fps < 50.0 => factors.push((0.5, Reason::FramesDropping)),
            _ => {}
        }
        if s.ms_since_input.is_some_and(|ms| ms < self.min_idle_ms) {
            factors.push((0.5, Reason::VisitorActive));
        }
        let fraction = factors.iter().fold(self.cpu_limit, |f, (x, _)| f * x);
        let reason = factors
            .iter()
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map_or(Reason::Idle, |(_, r)| *r);
        Share { fraction, reason }
    }
}

fn check_ms(what: &'static str, value: f64) -> Result<(), ThrottleError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(ThrottleError::Duration { what, value })
    }
}

/// Holds one worker's busy time over wall time at or under a fraction, in short slices.
///
/// The worker asks [`DutyCycle::slice_units`] how much work to do next (sized from the measured
/// cost per unit so a slice lasts about `target_slice_ms`), does it, then reports the slice to
/// [`DutyCycle::after_slice`], which answers how long to sleep. Sleep is computed from the totals of
/// the current window, so a timer that fires late shortens the next sleep instead of lowering the
/// share. An idle gap (no work to do) starts a new window: time spent idle is not credit to burst
/// later.
#[derive(Debug, Clone)]
pub struct DutyCycle {
    limit: f64,
    target_slice_ms: f64,
    ms_per_unit: Option<f64>,
    window_start: f64,
    window_busy: f64,
    /// When the worker may start its next slice (end of the last slice plus the sleep asked).
    resume_at: Option<f64>,
}

/// A window longer than this is halved, so old history fades.
const WINDOW_MS: f64 = 4_000.0;
/// Slack for timer lateness before a gap counts as idle.
const IDLE_GAP_MS: f64 = 50.0;

impl DutyCycle {
    /// A duty cycle at `limit` (in [0, 1]; 0 means paused) with slices of about `target_slice_ms`.
    pub fn new(limit: f64, target_slice_ms: f64) -> Result<Self, ThrottleError> {
        if !(0.0..=1.0).contains(&limit) {
            return Err(ThrottleError::CpuLimit(limit));
        }
        check_ms("slice target", target_slice_ms)?;
        Ok(Self {
            limit,
            target_slice_ms: target_slice_ms.max(1.0),
            ms_per_unit: None,
            window_start: 0.0,
            window_busy: 0.0,
            resume_at: None,
        })
    }

    /// The current limit.
    pub fn limit(&self) -> f64 {
        self.limit
    }

    /// Changes the limit (the page's share changed); starts a new window.
    pub fn set_limit(&mut self, limit: f64) -> Result<(), ThrottleError> {
        if !(0.0..=1.0).contains(&limit) {
            return Err(ThrottleError::CpuLimit(limit));
        }
        if limit != self.limit {
            self.limit = limit;
            self.resume_at = None;
        }
        Ok(())
    }

    /// Whether any work may run (the limit is above zero).
    pub fn may_run(&self) -> bool {
        self.limit > 0.0
    }

    /// Units of work for the next slice, at most `remaining` and at least 1.
    pub fn slice_units(&self, remaining: u32) -> u32 {
        let units = match self.ms_per_unit {
            // Unknown cost: one unit measures it.
            None => 1.0,
            Some(ms) => (self.target_slice_ms / ms.max(1e-6)).floor(),
        };
        (units.clamp(1.0, f64::from(u32::MAX)) as u32).min(remaining.max(1))
    }

    /// Records a slice of `units` that ran from `start_ms` to `end_ms`; returns how many
    /// milliseconds to sleep before the next one.
    pub fn after_slice(&mut self, start_ms: f64, end_ms: f64, units: u32) -> f64 {
        let busy = (end_ms - start_ms).max(0.0);
        if units > 0 {
            let per_unit = busy / f64::from(units);
            // Moving average: one odd slice (a GC pause) does not swing the next size much.
            self.ms_per_unit = Some(match self.ms_per_unit {
                None => per_unit,
                Some(old) => 0.7 * old + 0.3 * per_unit,
            });
        }
        let continuing = self
            .resume_at
            .is_some_and(|resume| start_ms <= resume + IDLE_GAP_MS);
        if !continuing {
            self.window_start = start_ms;
            self.window_busy = 0.0;
        }
        self.window_busy += busy;
        let wall = end_ms - self.window_start;
        let sleep = if self.limit <= 0.0 {
            0.0
        } else {
            (self.window_busy / self.limit - wall).max(0.0)
        };
        let resume = end_ms + sleep;
        if resume - self.window_start > WINDOW_MS {
            // Halved at the resume point, where the debt is paid, so the ratio (and no debt) is
            // kept while old history fades.
            self.window_busy /= 2.0;
            self.window_start = resume - (resume - self.window_start) / 2.0;
        }
        self.resume_at = Some(resume);
        sleep
    }
}
