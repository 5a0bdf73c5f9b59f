//! The `video-hw` command.

fn main() {
    println!("video-hw: CLI under construction");
}
