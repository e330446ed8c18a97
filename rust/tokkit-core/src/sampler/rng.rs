//! The sampler's random numbers: SplitMix64 to seed, xoshiro256** to draw, Box-Muller for
//! normals. Written out here rather than taken from a crate so that a sampled tokenizer depends
//! only on `(seed, step)` and this file: a dependency upgrade can never change which tokenizer a
//! training run saw at a given step, and resuming or replaying a run is exact.

/// One step of SplitMix64 (Steele, Lea, Flood 2014): a good 64-bit mixer, used to spread a seed
/// over the generator's state.
#[inline]
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// xoshiro256** (Blackman, Vigna 2018) with a cached second normal from Box-Muller.
#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
    spare: Option<f64>,
}

impl Rng {
    /// The generator for `step` of a run seeded with `seed`. The step is mixed in through its
    /// own SplitMix64 output, so that `(seed, step)` and `(seed + 1, step - 1)` give unrelated
    /// streams.
    #[must_use]
    pub fn for_step(seed: u64, step: u64) -> Self {
        let mut sm = seed;
        let a = splitmix64(&mut sm);
        let mut st = step ^ 0xD1B5_4A32_D192_ED03;
        let b = splitmix64(&mut st);
        let mut state = a ^ b.rotate_left(17);
        let s = [
            splitmix64(&mut state),
            splitmix64(&mut state),
            splitmix64(&mut state),
            splitmix64(&mut state),
        ];
        Self { s, spare: None }
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// A uniform draw in `(0, 1]` (53 bits; never 0, so that its logarithm is finite).
    #[inline]
    fn open_unit(&mut self) -> f64 {
        // 2^-53: the spacing of doubles in [0.5, 1).
        const SCALE: f64 = 1.0 / 9_007_199_254_740_992.0;
        #[expect(clippy::cast_precision_loss, reason = "53 bits are exact in an f64")]
        let x = ((self.next_u64() >> 11) + 1) as f64;
        x * SCALE
    }

    /// A standard normal draw (Box-Muller; the second value of each pair is kept for the next
    /// call).
    #[inline]
    pub fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        let radius = (-2.0 * self.open_unit().ln()).sqrt();
        let angle = std::f64::consts::TAU * self.open_unit();
        let (sin, cos) = angle.sin_cos();
        self.spare = Some(radius * sin);
        radius * cos
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_depend_on_seed_and_step_only() {
        let draw = |seed, step| {
            let mut r = Rng::for_step(seed, step);
            (0..4).map(|_| r.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(draw(1, 2), draw(1, 2));
        assert_ne!(draw(1, 2), draw(1, 3));
        assert_ne!(draw(1, 2), draw(2, 2));
        assert_ne!(draw(1, 2), draw(2, 1));
    }

    #[test]
    fn normals_have_unit_moments() {
        let mut r = Rng::for_step(7, 0);
        let n = 200_000;
        let draws: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let nf = n as f64;
        let mean = draws.iter().sum::<f64>() / nf;
        let var = draws.iter().map(|z| (z - mean).powi(2)).sum::<f64>() / nf;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "variance {var}");
        assert!(draws.iter().all(|z| z.is_finite()));
    }
}
