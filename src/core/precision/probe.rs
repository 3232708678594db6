// SPDX-License-Identifier: LGPL-2.1-or-later
//! Learning how the camera carries out `SyncAdjustment`, from its own frame
//! timestamps: after how many frames a request lands, the line time (the
//! sensor can only change a frame by whole lines), and whether it can
//! shorten a frame as far as asked.
//!
//! Nothing of this is in libcamera's controls, and it differs between
//! sensors, modes and pipelines, so the client measures it once per start,
//! before it needs it: a ladder of small request pairs, lengthen then
//! shorten by the same amount (509, 307, … 4 µs), one per frame. Each pair
//! leaves the phase where it was; each request shows up, some frames later,
//! as one frame interval that much longer or shorter. Then:
//!
//! - **latency**: the lag at which the intervals correlate with the requests;
//! - **line time**: the sensor rounds a request of `A` to
//!   `round(A / L)` lines of `L`; the `L` that best explains the lengthening
//!   responses of every rung (small rungs round to nothing, larger ones to
//!   1, 2, … lines), refined by least squares on the line counts;
//! - **shortening limit**: a shortening response well below the request
//!   (the mode's minimum frame length).
//!
//! A pass takes 20 requests plus the latency: about 25 frames, usually long
//! before the first packet from a server. Where the timestamps are noisy
//! (start-of-frame jitter) the responses do not yet pin the line time down,
//! and the ladder runs again (up to 6 passes), averaging. The ladder is
//! bounded by the camera's `SyncAdjustment` limits and an eighth of a frame.

/// The ladder's rungs, µs, largest first: the first pair's response is
/// unmistakable, so the latency is known early and the probe can end as
/// soon as the last request has landed.
/// Roughly ×1.7 apart and no two with a common factor, so that no line
/// time rounds every rung to whole lines (powers of two would let a 32 µs
/// line explain a 28 µs one's responses almost as well).
const RUNGS_US: [i32; 10] = [509, 307, 181, 113, 67, 41, 23, 13, 7, 4];
/// Requests in one pass of the ladder (a lengthening and a shortening per
/// rung).
pub const PASS: usize = 2 * RUNGS_US.len();
/// Passes at most: with noisy timestamps the ladder is repeated, so that
/// the responses average to well under half a line.
pub const MAX_PASSES: usize = 6;
const REQUESTS: usize = PASS * MAX_PASSES;
/// The longest latency searched, frames.
pub const MAX_DELAY: i64 = 12;
/// Frames observed from the first request's frame on.
const WINDOW: usize = REQUESTS + MAX_DELAY as usize + 8;
/// A response is clear when its standard error is below this share of a
/// line: then the rounding to whole lines cannot be mistaken.
const CLEAR_SHARE_OF_LINE: f64 = 1.0 / 8.0;

/// What the probe learned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Learned {
    /// A request handed out after frame `k` completed changes the length of
    /// frame `k + delay`.
    pub delay: i64,
    /// The sensor's line time, ns.
    pub line_ns: f64,
    /// How far a frame can be shortened, ns (None: as far as asked).
    pub max_shorten_ns: Option<f64>,
    /// The largest shortening seen carried out, ns.
    pub shortened_ns: f64,
    /// Lengthening applied / requested over the ladder.
    pub gain: f64,
    /// RMS of the responses around whole lines of `line_ns`, ns.
    pub residual_ns: f64,
    /// Passes of the ladder it took.
    pub passes: usize,
}

/// Why the probe learned nothing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ProbeError {
    /// No request had a visible effect on the frame timing.
    NoResponse,
    /// Frames went missing in the window.
    Gaps,
    /// The responses fit no sensor: a line longer than a twentieth of the
    /// frame, or far more or less applied than asked.
    Implausible,
}

/// The probe of one start.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// Requests handed out: (frame completed before, µs).
    requests: [(i64, i32); REQUESTS],
    issued: usize,
    /// Requests this probe issues so far: whole passes.
    planned: usize,
    /// Timestamps by frame index from `first`.
    ts: [Option<i64>; WINDOW],
    first: i64,
    /// Frame period before the probe, ns.
    period: f64,
    /// Timestamp noise, ns (standard deviation).
    noise: f64,
    /// How far a request may lengthen and shorten, µs.
    limits_us: (i32, i32),
}

impl Probe {
    /// A probe for frames of `period` ns with timestamp noise `noise` ns,
    /// requests lengthening at most `limits_us.0` and shortening at most
    /// `limits_us.1` µs.
    pub fn new(period: f64, noise: f64, limits_us: (i32, i32)) -> Probe {
        Probe {
            requests: [(0, 0); REQUESTS],
            issued: 0,
            planned: PASS,
            ts: [None; WINDOW],
            first: i64::MAX,
            period,
            noise,
            limits_us: (limits_us.0.max(0), limits_us.1.max(0)),
        }
    }

    /// The next request to hand out after frame `last` completed, if the
    /// ladder is not finished.
    pub fn next_request(&mut self, last: i64) -> Option<i32> {
        if self.issued >= self.planned {
            return None;
        }
        let rung = RUNGS_US[(self.issued % PASS) / 2];
        // Lengthen first, then shorten back.
        let a = if self.issued.is_multiple_of(2) {
            -rung.min(self.limits_us.0)
        } else {
            rung.min(self.limits_us.1)
        };
        self.requests[self.issued] = (last, a);
        if self.issued == 0 {
            self.first = last;
        }
        self.issued += 1;
        Some(a)
    }

    /// The requests handed out so far: (frame completed before, µs).
    pub fn issued(&self) -> &[(i64, i32)] {
        &self.requests[..self.issued]
    }

    /// Record frame `index`'s timestamp.
    pub fn observe(&mut self, index: i64, ts: i64) {
        if let Some(i) = index.checked_sub(self.first).filter(|&i| i >= 0) {
            let i = i as usize;
            if i < WINDOW {
                self.ts[i] = Some(ts);
            }
        }
    }

    /// Once the last request of the pass has landed (by the latency the
    /// first pair showed, or the longest searched): what was learned, or
    /// `None` while the probe goes on (another pass, if the responses are
    /// not clear yet).
    pub fn finish(&mut self, last: i64) -> Option<Result<Learned, ProbeError>> {
        if self.issued < self.planned {
            return None;
        }
        let wait = self.first_pair_delay().unwrap_or(MAX_DELAY);
        if last < self.requests[self.planned - 1].0.saturating_add(wait + 1) {
            return None;
        }
        let passes = self.planned / PASS;
        let result = self.analyse();
        let clear = match &result {
            Ok(l) => l.residual_ns / (passes as f64).sqrt() <= l.line_ns * CLEAR_SHARE_OF_LINE,
            // Nothing moved, and the timestamps would have shown it.
            Err(ProbeError::NoResponse) => self.noise * std::f64::consts::SQRT_2 < 4_000.0,
            Err(_) => false,
        };
        if clear || self.planned >= REQUESTS {
            return Some(result);
        }
        self.planned += PASS;
        None
    }

    /// The latency of the first pair (the largest rung, lengthen then
    /// shorten), if its response stands out of the noise.
    fn first_pair_delay(&self) -> Option<i64> {
        let [(k1, a1), (k2, a2)] = [*self.requests.first()?, *self.requests.get(1)?];
        if self.issued < 2 || a1 >= 0 || a2 <= 0 {
            return None;
        }
        let x = f64::from(a1.unsigned_abs().min(a2.unsigned_abs())) * 1000.0;
        let threshold = (x / 2.0).max(8.0 * self.noise * std::f64::consts::SQRT_2);
        if threshold >= x {
            return None;
        }
        (1..=MAX_DELAY).find(|&d| {
            let long = self.deviation(k1.saturating_add(d));
            let short = self.deviation(k2.saturating_add(d));
            matches!((long, short), (Some(l), Some(s)) if l > threshold && s < -threshold)
        })
    }

    /// The deviation of interval `j → j+1` from the period, ns.
    fn deviation(&self, j: i64) -> Option<f64> {
        let i = usize::try_from(j.checked_sub(self.first)?).ok()?;
        let (a, b) = (self.ts.get(i).copied()??, self.ts.get(i + 1).copied()??);
        Some(b.wrapping_sub(a) as f64 - self.period)
    }

    /// Analyse the responses.
    pub fn analyse(&self) -> Result<Learned, ProbeError> {
        // Latency: correlate requests with (negated) interval deviations.
        let mut best: Option<(i64, f64)> = None;
        for d in 1..=MAX_DELAY {
            let mut c = 0.0;
            let mut seen = 0;
            for &(k, a) in self.issued() {
                if let Some(dev) = self.deviation(k.saturating_add(d)) {
                    c += f64::from(a) * 1000.0 * -dev;
                    seen += 1;
                }
            }
            if seen * 2 < self.planned {
                continue;
            }
            if best.is_none_or(|(_, b)| c > b) {
                best = Some((d, c));
            }
        }
        let Some((delay, corr)) = best else {
            return Err(ProbeError::Gaps);
        };
        let power: f64 = self
            .issued()
            .iter()
            .map(|&(_, a)| (f64::from(a) * 1000.0).powi(2))
            .sum();
        // The responses must stand out of the interval noise.
        let noise = self.noise * std::f64::consts::SQRT_2;
        if corr <= 0.0 || corr < 6.0 * noise * power.sqrt() {
            return Err(ProbeError::NoResponse);
        }
        // The intervals no request landed on measure what the period
        // estimate is off by: take it out of every response.
        let hit = |j: i64| {
            self.issued()
                .iter()
                .any(|&(k, _)| k.saturating_add(delay) == j)
        };
        let (mut quiet_n, mut quiet_sum) = (0.0, 0.0);
        for i in 0..WINDOW as i64 {
            let j = self.first.saturating_add(i);
            if !hit(j)
                && let Some(dev) = self.deviation(j)
            {
                quiet_n += 1.0;
                quiet_sum += dev;
            }
        }
        let offset = if quiet_n > 0.0 {
            quiet_sum / quiet_n
        } else {
            0.0
        };
        // Applied amounts (ns, positive = shortened).
        let mut lengthen: [(f64, f64); REQUESTS] = [(0.0, 0.0); REQUESTS];
        let mut nl = 0;
        let mut shorten: [(f64, f64); REQUESTS] = [(0.0, 0.0); REQUESTS];
        let mut ns = 0;
        for &(k, a) in self.issued() {
            let Some(dev) = self.deviation(k.saturating_add(delay)) else {
                continue;
            };
            let dev = dev - offset;
            let want = f64::from(a) * 1000.0;
            if a < 0 {
                lengthen[nl] = (-want, dev);
                nl += 1;
            } else {
                shorten[ns] = (want, -dev);
                ns += 1;
            }
        }
        let lengthen = &lengthen[..nl];
        let line_ns = fit_line(lengthen).ok_or(ProbeError::NoResponse)?;
        let gain =
            lengthen.iter().map(|l| l.1).sum::<f64>() / lengthen.iter().map(|l| l.0).sum::<f64>();
        if line_ns > self.period / 20.0 || !(0.5..=2.0).contains(&gain) {
            return Err(ProbeError::Implausible);
        }
        // A shortening limit shows on the largest rung: what it really
        // shortened (averaged over the passes) far below what it should.
        let top = f64::from(RUNGS_US.iter().copied().max().unwrap_or(0)) * 1000.0;
        let (n_top, sum_top) = shorten[..ns]
            .iter()
            .filter(|s| s.0 >= top)
            .fold((0.0, 0.0), |(n, x), s| (n + 1.0, x + s.1));
        let max_shorten_ns = (n_top > 0.0)
            .then(|| sum_top / n_top)
            .filter(|&got| {
                let slack = (2.0 * line_ns).max(6.0 * noise / n_top.sqrt());
                got < lines(top, line_ns) * line_ns - slack
            })
            .map(|got| got.max(0.0));
        let shortened_ns = shorten[..ns].iter().map(|s| s.1).fold(0.0, f64::max);
        let residual_ns = (lengthen
            .iter()
            .map(|&(w, g)| (g - lines(w, line_ns) * line_ns).powi(2))
            .sum::<f64>()
            / lengthen.len().max(1) as f64)
            .sqrt();
        Ok(Learned {
            delay,
            line_ns,
            max_shorten_ns,
            shortened_ns,
            gain,
            residual_ns,
            passes: self.planned / PASS,
        })
    }
}

/// The sensor's rounding: a request of `want` ns on lines of `line` ns is
/// this many lines (half away from zero).
pub fn lines(want: f64, line: f64) -> f64 {
    (want / line).round()
}

/// The line time (ns) that best explains `(requested, applied)` pairs, or
/// None if nothing was applied.
fn fit_line(pairs: &[(f64, f64)]) -> Option<f64> {
    if pairs.iter().all(|p| p.1 < p.0 / 4.0) {
        return None;
    }
    let cost = |l: f64| -> f64 {
        pairs
            .iter()
            .map(|&(w, g)| (g - lines(w, l) * l).powi(2))
            .sum()
    };
    // A log grid from 1 µs to 1 ms, 0.5 % apart, then the best of it refined.
    let mut best = (f64::INFINITY, 0.0);
    let mut l = 1_000.0;
    while l <= 1_000_000.0 {
        let c = cost(l);
        if c < best.0 {
            best = (c, l);
        }
        l *= 1.005;
    }
    // Least squares on the line counts of the best candidate.
    let (mut num, mut den) = (0.0, 0.0);
    for &(w, g) in pairs {
        let n = lines(w, best.1);
        num += n * g;
        den += n * n;
    }
    let line = num / den;
    (den > 0.0 && line.is_finite() && line >= 500.0).then_some(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sensor with `line` ns lines, latency `delay`, optional shortening
    /// cap, run through the probe.
    fn run(line: f64, delay: i64, cap: Option<f64>, jitter: i64) -> Result<Learned, ProbeError> {
        let period = 33_333_000.0;
        let mut p = Probe::new(
            period,
            (jitter as f64 / 12f64.sqrt()).max(300.0),
            (16_000, 16_000),
        );
        let mut applied = vec![0.0; 400];
        let mut sof = 1e12;
        let mut rng = 99u64;
        for k in 0..400i64 {
            let ts = sof as i64
                + if jitter > 0 {
                    rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1);
                    ((rng >> 33) % jitter as u64) as i64
                } else {
                    0
                };
            p.observe(k, ts / 1000 * 1000);
            if let Some(r) = p.finish(k) {
                return r;
            }
            if k >= 10
                && let Some(a) = p.next_request(k)
            {
                let mut x = lines(f64::from(a) * 1000.0, line) * line;
                if let Some(c) = cap {
                    x = x.min(c);
                }
                applied[(k + delay) as usize] = x;
            }
            sof += period - applied[k as usize];
        }
        unreachable!()
    }

    #[test]
    fn learns_latency_and_line_time() {
        for (line, delay) in [(18_900.0, 4), (15_259.0, 2), (29_278.0, 6), (7_000.0, 3)] {
            let l = run(line, delay, None, 0).unwrap();
            assert_eq!(l.delay, delay);
            assert!((l.line_ns - line).abs() < 150.0, "{line}: {l:?}");
            assert_eq!(l.max_shorten_ns, None);
        }
    }

    #[test]
    fn with_jitter() {
        let l = run(18_900.0, 4, None, 10_000).unwrap();
        assert_eq!(l.delay, 4);
        assert!((l.line_ns - 18_900.0).abs() < 1_000.0, "{l:?}");
        // With 20 µs of jitter the ladder runs several passes.
        for line in [18_900.0, 28_500.0, 23_000.0] {
            let l = run(line, 4, None, 20_000).unwrap();
            assert!((l.line_ns - line).abs() < 1_500.0, "{line}: {l:?}");
        }
    }

    #[test]
    fn a_mode_that_cannot_shorten_much() {
        let l = run(20_000.0, 4, Some(100_000.0), 0).unwrap();
        let cap = l.max_shorten_ns.unwrap();
        assert!((cap - 100_000.0).abs() < 2_000.0, "{l:?}");
    }

    #[test]
    fn no_response_is_reported() {
        assert_eq!(run(1e9, 4, None, 0), Err(ProbeError::NoResponse));
    }
}
