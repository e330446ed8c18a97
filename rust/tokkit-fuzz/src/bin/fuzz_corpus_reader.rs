//! AFL++ entry point of the `corpus_reader` target (see [`tokkit_fuzz::corpus_reader`]); built by `make fuzz`
//! with `cargo afl build`, which instruments the code for coverage.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        tokkit_fuzz::corpus_reader::run(data);
    });
}
