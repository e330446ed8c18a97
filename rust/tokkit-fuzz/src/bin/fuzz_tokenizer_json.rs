//! AFL++ entry point of the `tokenizer_json` target (see [`tokkit_fuzz::tokenizer_json`]); built by `make fuzz`
//! with `cargo afl build`, which instruments the code for coverage.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        tokkit_fuzz::tokenizer_json::run(data);
    });
}
