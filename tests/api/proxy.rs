//! A TCP proxy between the app and Postgres that a test can cut and restore,
//! to simulate the database going away (works with `DATABASE_URL` too).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct TcpProxy {
    port: u16,
    open: Arc<AtomicBool>,
    /// Bumped on every cut, so live connections notice and close.
    generation: watch::Sender<u64>,
}

impl TcpProxy {
    /// Starts forwarding 127.0.0.1:<port> to `target` on a thread of its own.
    pub fn start(target: (String, u16)) -> Self {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let port = std_listener.local_addr().expect("addr").port();
        let open = Arc::new(AtomicBool::new(true));
        let (generation, gen_rx) = watch::channel(0u64);
        let open2 = open.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("proxy runtime");
            rt.block_on(async move {
                let listener = TcpListener::from_std(std_listener).expect("listener");
                loop {
                    let Ok((client, _)) = listener.accept().await else {
                        continue;
                    };
                    if !open2.load(Ordering::SeqCst) {
                        drop(client); // refused while cut
                        continue;
                    }
                    let target = target.clone();
                    let mut gen_rx = gen_rx.clone();
                    // Only cuts after this connection was made should end it.
                    gen_rx.borrow_and_update();
                    tokio::spawn(async move {
                        let Ok(server) = TcpStream::connect((target.0.as_str(), target.1)).await
                        else {
                            return;
                        };
                        let (mut c, mut s) = (client, server);
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut c, &mut s) => {}
                            _ = gen_rx.changed() => {}
                        }
                    });
                }
            });
        });
        Self {
            port,
            open,
            generation,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Drops every live connection and refuses new ones.
    pub fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    pub fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

/// A TCP load balancer: each new connection goes to a random backend,
/// skipping backends that refuse (a killed instance). The backends are set
/// (and changed) after it started, as the services behind it come up on
/// ports they bound themselves; with none, a connection is closed at once.
pub struct LoadBalancer {
    port: u16,
    backends: Arc<Mutex<Vec<u16>>>,
}

impl LoadBalancer {
    pub fn start() -> Self {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind lb");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let port = std_listener.local_addr().expect("addr").port();
        let backends: Arc<Mutex<Vec<u16>>> = Arc::default();
        let current = backends.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("lb runtime");
            rt.block_on(async move {
                let listener = TcpListener::from_std(std_listener).expect("listener");
                let mut n: usize = 0;
                loop {
                    let Ok((mut client, _)) = listener.accept().await else {
                        continue;
                    };
                    n = n
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let backends = current.lock().expect("backends").clone();
                    let start = (n >> 33) % backends.len().max(1);
                    let order: Vec<u16> = (0..backends.len())
                        .map(|i| backends[(start + i) % backends.len()])
                        .collect();
                    tokio::spawn(async move {
                        for p in order {
                            if let Ok(mut server) = TcpStream::connect(("127.0.0.1", p)).await {
                                let _ =
                                    tokio::io::copy_bidirectional(&mut client, &mut server).await;
                                return;
                            }
                        }
                    });
                }
            });
        });
        Self { port, backends }
    }

    /// Where new connections go from now on.
    pub fn set_backends(&self, ports: &[u16]) {
        *self.backends.lock().expect("backends") = ports.to_vec();
    }

    /// Adds one backend.
    pub fn add_backend(&self, port: u16) {
        self.backends.lock().expect("backends").push(port);
    }

    pub fn address(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}
