//! The one percentile definition of the workspace: the load generator's latencies, the
//! benchmark's timings and the service's load test all go through [`Latency::of`].

use std::time::Duration;

use serde::Serialize;

/// Percentiles of a set of durations, in milliseconds to the microsecond, by nearest
/// rank: the p-th percentile is the smallest sample with at least p% of the samples at
/// or below it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    /// How many samples the figures come from.
    pub samples: u64,
    pub min_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    /// The percentiles of `durations`, in any order; `None` when there are none.
    pub fn of(durations: impl IntoIterator<Item = Duration>) -> Option<Self> {
        let mut micros: Vec<u64> = durations
            .into_iter()
            .map(|duration| u64::try_from(duration.as_micros()).unwrap_or(u64::MAX))
            .collect();
        micros.sort_unstable();
        Self::of_sorted_micros(&micros)
    }

    /// As [`of`](Self::of), from microseconds already sorted.
    pub(crate) fn of_sorted_micros(micros: &[u64]) -> Option<Self> {
        let first = *micros.first()?;
        let last = *micros.last()?;
        let samples = micros.len() as u64;
        let rank = |percent: u64| {
            let rank = (percent * samples).div_ceil(100).max(1);
            let index = usize::try_from(rank - 1).unwrap_or(usize::MAX);
            ms(micros.get(index).copied().unwrap_or(last))
        };
        Some(Self {
            samples,
            min_ms: ms(first),
            p50_ms: rank(50),
            p90_ms: rank(90),
            p99_ms: rank(99),
            max_ms: ms(last),
        })
    }
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        assert_eq!(Latency::of_sorted_micros(&[]), None);
        let one = Latency::of_sorted_micros(&[1500]).unwrap();
        assert_eq!(
            (one.min_ms, one.p50_ms, one.p99_ms, one.max_ms),
            (1.5, 1.5, 1.5, 1.5)
        );
        let hundred: Vec<u64> = (1..=100).map(|ms| ms * 1000).collect();
        let latency = Latency::of_sorted_micros(&hundred).unwrap();
        assert_eq!(latency.samples, 100);
        assert_eq!(latency.min_ms, 1.0);
        assert_eq!(latency.p50_ms, 50.0);
        assert_eq!(latency.p90_ms, 90.0);
        assert_eq!(latency.p99_ms, 99.0);
        assert_eq!(latency.max_ms, 100.0);
        let ten: Vec<u64> = (1..=10).collect();
        let latency = Latency::of_sorted_micros(&ten).unwrap();
        assert_eq!(latency.p50_ms, 0.005);
        assert_eq!(latency.p99_ms, 0.010);
    }

    #[test]
    fn durations_in_any_order_give_the_same_figures() {
        let shuffled = [7, 3, 9, 1, 5].map(Duration::from_millis);
        let latency = Latency::of(shuffled).unwrap();
        assert_eq!(
            (latency.min_ms, latency.p50_ms, latency.max_ms),
            (1.0, 5.0, 9.0)
        );
        assert_eq!(Latency::of([]), None);
    }
}
