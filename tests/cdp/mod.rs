//! A small Chrome DevTools Protocol client for tests: headless Chromium with
//! `--remote-debugging-pipe` (commands on fd 3, answers on fd 4, each JSON
//! message ended by a NUL byte), one page target attached in flat mode.
//! Enough to open pages, run a line of script (fill and submit a form, read
//! the page), wait for loads, read cookies and take screenshots.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const TIMEOUT: Duration = Duration::from_secs(30);

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two new descriptors into the array we own.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just created and are owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// A headless Chromium with one page; killed when dropped.
pub struct Browser {
    child: Child,
    to_browser: std::fs::File,
    from_browser: Receiver<Value>,
    /// Events received while waiting for answers, oldest first.
    events: Vec<Value>,
    next_id: u64,
    session: String,
    profile: PathBuf,
}

impl Browser {
    /// Starts Chromium with a new profile in `profile` and opens a page of
    /// `width` × `height` CSS pixels (`mobile`: a phone's viewport).
    pub fn start(profile: &Path, width: u32, height: u32, mobile: bool) -> Browser {
        let (cmd_read, cmd_write) = pipe();
        let (resp_read, resp_write) = pipe();
        let mut command = crate::common::chromium(profile);
        command
            .args([
                "--remote-debugging-pipe",
                // kioku's own CA is not installed in this throwaway profile.
                "--ignore-certificate-errors",
                "--lang=en-US",
                "--accept-lang=en-US",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        {
            use std::os::fd::AsRawFd;
            let (r, w) = (cmd_read.as_raw_fd(), resp_write.as_raw_fd());
            // SAFETY: between fork and exec only async-signal-safe calls
            // (fcntl, dup2) on descriptors that exist in the child.
            unsafe {
                command.pre_exec(move || {
                    let r2 = libc::fcntl(r, libc::F_DUPFD, 10);
                    let w2 = libc::fcntl(w, libc::F_DUPFD, 10);
                    if r2 < 0 || w2 < 0 || libc::dup2(r2, 3) < 0 || libc::dup2(w2, 4) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let child = command.spawn().expect("chromium starts");
        drop(cmd_read);
        drop(resp_write);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(std::fs::File::from(resp_read));
            loop {
                let mut buf = Vec::new();
                match reader.read_until(0, &mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        buf.pop();
                        if let Ok(v) = serde_json::from_slice::<Value>(&buf) {
                            if tx.send(v).is_err() {
                                return;
                            }
                        }
                    }
                }
            }
        });
        let mut browser = Browser {
            child,
            to_browser: std::fs::File::from(cmd_write),
            from_browser: rx,
            events: Vec::new(),
            next_id: 1,
            session: String::new(),
            profile: profile.to_owned(),
        };
        let target = browser.call_browser("Target.createTarget", json!({ "url": "about:blank" }));
        let target_id = target["targetId"].as_str().expect("a target id").to_owned();
        let attached = browser.call_browser(
            "Target.attachToTarget",
            json!({ "targetId": target_id, "flatten": true }),
        );
        browser.session = attached["sessionId"]
            .as_str()
            .expect("a session")
            .to_owned();
        browser.call("Page.enable", json!({}));
        browser.call("Network.enable", json!({}));
        browser.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile }),
        );
        browser
    }

    fn send(&mut self, method: &str, params: Value, session: Option<&str>) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(0);
        self.to_browser
            .write_all(&bytes)
            .expect("chromium reads commands");
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.from_browser.recv_timeout(left) {
                Ok(v) if v["id"] == json!(id) => {
                    if let Some(err) = v.get("error") {
                        panic!("{method}: {err}");
                    }
                    return v["result"].clone();
                }
                Ok(v) => self.events.push(v),
                Err(RecvTimeoutError::Timeout) => panic!("{method}: no answer in {TIMEOUT:?}"),
                Err(RecvTimeoutError::Disconnected) => panic!("{method}: chromium went away"),
            }
        }
    }

    fn call_browser(&mut self, method: &str, params: Value) -> Value {
        self.send(method, params, None)
    }

    /// A command to the page.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.send(method, params, Some(&session))
    }

    /// Waits for the page's next `load` event after `action` (which
    /// navigates: opening a URL, submitting a form).
    fn navigating(&mut self, action: impl FnOnce(&mut Browser)) {
        self.events.clear();
        action(self);
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if self
                .events
                .iter()
                .any(|e| e["method"] == "Page.loadEventFired")
            {
                self.events.clear();
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.from_browser.recv_timeout(left) {
                Ok(v) => self.events.push(v),
                Err(_) => panic!("the page did not finish loading in {TIMEOUT:?}"),
            }
        }
    }

    /// Opens `url` and waits until it has loaded.
    pub fn open(&mut self, url: &str) {
        self.navigating(|b| {
            let r = b.call("Page.navigate", json!({ "url": url }));
            assert!(r.get("errorText").is_none(), "opening {url}: {r}");
        });
    }

    /// Runs a JavaScript expression and returns its value.
    pub fn eval(&mut self, expression: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true }),
        );
        if let Some(e) = r.get("exceptionDetails") {
            panic!("script failed: {e}\n{expression}");
        }
        r["result"]["value"].clone()
    }

    /// Fills the form matched by `selector` (`name` → value) and submits it
    /// as a person would (its submit button), then waits for the next page.
    pub fn submit(&mut self, selector: &str, fields: &[(&str, &str)]) {
        let mut script = format!(
            "(() => {{ const f = document.querySelector({}); if (!f) throw new Error('no form ' + {0});",
            json!(selector)
        );
        for (name, value) in fields {
            script.push_str(&format!(
                "{{ const e = f.elements.namedItem({}); if (e.type === 'checkbox') e.checked = {}; else e.value = {}; }}",
                json!(name),
                json!(!value.is_empty()),
                json!(value)
            ));
        }
        script.push_str("f.requestSubmit(); return true; })()");
        self.navigating(|b| {
            b.eval(&script);
        });
    }

    /// The page's visible text.
    pub fn text(&mut self) -> String {
        self.eval("document.body.innerText")
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub fn url(&mut self) -> String {
        self.eval("location.href")
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The cookies the page's URL would send.
    pub fn cookies(&mut self) -> Vec<Value> {
        let r = self.call("Network.getCookies", json!({}));
        r["cookies"].as_array().cloned().unwrap_or_default()
    }

    /// A PNG of the whole page (not just the viewport) at `path`.
    pub fn screenshot(&mut self, path: &Path) {
        use base64::Engine;
        let metrics = self.call("Page.getLayoutMetrics", json!({}));
        let size = &metrics["cssContentSize"];
        let shot = self.call(
            "Page.captureScreenshot",
            json!({
                "format": "png",
                "captureBeyondViewport": true,
                "clip": { "x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1 }
            }),
        );
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("screenshot data"))
            .expect("base64");
        assert_eq!(&png[1..4], b"PNG");
        std::fs::write(path, png).unwrap();
        println!("screenshot: {}", path.display());
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
