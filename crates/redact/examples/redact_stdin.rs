//! Redacts each line of stdin (no identifiers registered) and prints it under the original.
//!
//! `echo "Mr. Sato, DOB 3/14/57" | cargo run -p orgallery-redact --example redact_stdin`

use std::io::BufRead;

fn main() {
    let r = orgallery_redact::Redactor::default();
    for line in std::io::stdin().lock().lines().map_while(Result::ok) {
        let red = r.redact(&line, None);
        println!("{line}\n   -> {}", red.text);
    }
}
