//! AFL++ entry point of the `roundtrip` target (see [`tokkit_fuzz::roundtrip`]); built by `make fuzz`
//! with `cargo afl build`, which instruments the code for coverage.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        tokkit_fuzz::roundtrip::run(data);
    });
}
