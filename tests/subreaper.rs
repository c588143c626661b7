//! `execnet::sys::childless_subreaper` in a process of its own: this binary holds this one test, so no
//! other test's children can make "no child at all" false (libtest runs tests of one binary as
//! threads of one process).

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use execnet::sys::{childless_subreaper, kill_pid, reap_nohang, set_child_subreaper};

/// As a child subreaper, "no child at all" is seen, and so is the orphan a finished child left
/// (re-parented here after a `setsid`): what lets a call skip reading the children file.
#[test]
fn childless_sees_an_orphan_the_child_left() {
    assert!(
        !childless_subreaper(),
        "not a subreaper yet: proves nothing"
    );
    set_child_subreaper().unwrap();
    assert!(childless_subreaper(), "this process starts with no child");
    let mut sh = Command::new("sh")
        .args(["-c", "setsid sleep 30 </dev/null >/dev/null 2>&1 & echo $!"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = String::new();
    sh.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    assert!(sh.wait().unwrap().success());
    let orphan: i32 = out.trim().parse().unwrap();
    assert!(!childless_subreaper(), "the orphan {orphan} is a child now");
    assert!(kill_pid(orphan, libc::SIGKILL));
    while !reap_nohang(orphan) {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(childless_subreaper());
}
